// The Tyk OSS Gateway that grpc-scaffold's tests put in front of the generated tyk plugin.
//
// Tyk's go.mod has replace directives, so `go install` refuses to build it as a dependency;
// this module requires the gateway at the release's commit, repeats those directives, and starts
// the gateway's own entry point. See scripts/tyk-gateway.sh for how it is built and cached.
package main

import "github.com/TykTechnologies/tyk/gateway"

func main() {
	gateway.Start()
}
