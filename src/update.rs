//! `update` and `check`: bring a project on disk up to the running grpc-scaffold and to its own
//! protos.
//!
//! The project is rendered anew, in memory, from its record and from the protos in its `proto/`
//! folder. Then each file is decided on its own, by its owner:
//!
//! - **the tool's files** are rewritten. Where the user edited one, the edit is merged with the
//!   template's change against the base, the file as it was generated last time; where the two
//!   overlap, the file gets conflict markers. A file the user deleted stays deleted, and a file
//!   the templates no longer write goes, unless the user edited it;
//! - **the user's files** are created once, when they are new (the module of a new service), and
//!   never touched again.
//!
//! Only when every file is decided is anything written, all or nothing, with the new record.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kind::Kind;
use crate::merge::{self, Merged};
use crate::model::Project;
use crate::options::Options;
use crate::record::{self, Record};
use crate::render::{Files, Owners, Renderer};
use crate::templates::{self, Owner};
use crate::tree;
use crate::write::{self, Op};
use crate::{proto, render_code, stdout};

/// What `update` would do to one file.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub path: PathBuf,
    pub owner: Owner,
    pub action: Action,
    /// Why, in a few words.
    pub reason: String,
    #[serde(skip)]
    before: Option<String>,
    #[serde(skip)]
    after: Option<String>,
}

/// What happens to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A file that is new: written.
    Create,
    /// A tool's file that the user had not edited: rewritten.
    Update,
    /// A tool's file that the user edited: the edit and the template's change, merged.
    Merge,
    /// A tool's file whose edit and template change overlap: written with conflict markers.
    Conflict,
    /// A tool's file edited by hand, with no template change: left as it is, and recorded.
    Accept,
    /// A tool's file that the templates no longer write: removed.
    Remove,
}

impl Action {
    /// The verb of the progress line, right-aligned as cargo prints them.
    fn verb(self) -> &'static str {
        match self {
            Action::Create => "Created",
            Action::Update => "Updated",
            Action::Merge => "Merged",
            Action::Conflict => "Conflict",
            Action::Accept => "Kept",
            Action::Remove => "Removed",
        }
    }
}

/// Everything `update` would do.
#[derive(Debug)]
pub struct Plan {
    pub changes: Vec<Change>,
    /// What the user should know that is not a change to a file: RPCs that are gone, files
    /// left in place.
    pub notes: Vec<String>,
    /// Why the project will not build, where `update` cannot mend it: a deleted module that a
    /// tool's file still declares.
    pub broken: Vec<String>,
    /// The record and bases as they are on disk, and as they will be.
    bookkeeping: Vec<Op>,
    pub from_version: String,
    pub name: String,
    pub kind: Kind,
}

impl Plan {
    fn conflicts(&self) -> Vec<PathBuf> {
        self.changes
            .iter()
            .filter(|change| change.action == Action::Conflict)
            .map(|change| change.path.clone())
            .collect()
    }
}

/// `grpc-scaffold update DIR`.
pub fn run(dir: &Path, dry_run: bool, out: &mut dyn io::Write) -> Result<()> {
    let dir = &root(dir)?;
    let plan = plan(dir)?;
    for note in &plan.notes {
        writeln!(out, "note: {note}").map_err(stdout)?;
    }
    if dry_run {
        for change in &plan.changes {
            let before = change.before.as_deref().unwrap_or_default();
            let after = match change.action {
                Action::Remove => "",
                _ => change.after.as_deref().unwrap_or(before),
            };
            if before != after {
                let path = change.path.to_string_lossy();
                write!(out, "{}", merge::unified_diff(&path, before, after)).map_err(stdout)?;
            }
        }
        report(out, &plan, "Would update")?;
        writeln!(out, "dry run: nothing written").map_err(stdout)?;
        return builds(plan.broken);
    }

    let mut ops: Vec<Op> = plan
        .changes
        .iter()
        .filter_map(|change| match (&change.after, change.action) {
            (_, Action::Remove) => Some(Op::Remove(change.path.clone())),
            (Some(after), _) if change.before.as_ref() != Some(after) => {
                Some(Op::Write(change.path.clone(), after.clone()))
            }
            _ => None,
        })
        .collect();
    ops.extend(plan.bookkeeping.iter().cloned());
    write::apply(dir, &ops)?;
    report(out, &plan, "Updated")?;
    let conflicts = plan.conflicts();
    if conflicts.is_empty() {
        builds(plan.broken)
    } else {
        Err(Error::Conflicts { paths: conflicts })
    }
}

/// An error naming each reason why the project will not build, if there is one.
fn builds(broken: Vec<String>) -> Result<()> {
    if broken.is_empty() {
        Ok(())
    } else {
        Err(Error::Broken { reasons: broken })
    }
}

/// `grpc-scaffold check DIR`: fails where `update` would change a file's contents, or where
/// conflict markers remain. A hand edit that `update` would keep as it is is only a note.
pub fn check(dir: &Path, json: bool, out: &mut dyn io::Write) -> Result<()> {
    let plan = match root(dir).and_then(|dir| plan(&dir)) {
        Ok(plan) => plan,
        Err(err) if json => {
            let help = miette::Diagnostic::help(&err).map(|help| help.to_string());
            let report = serde_json::json!({
                "up_to_date": false,
                "error": err.to_string(),
                "help": help,
            });
            writeln!(out, "{report:#}").map_err(stdout)?;
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    let (kept, stale): (Vec<&Change>, Vec<&Change>) = plan
        .changes
        .iter()
        .partition(|change| change.action == Action::Accept);
    let mut notes: Vec<String> = kept
        .iter()
        .map(|change| {
            format!(
                "`{}` is edited by hand; `update` keeps it as it is",
                change.path.display()
            )
        })
        .collect();
    notes.extend(plan.notes.iter().cloned());
    if stale.is_empty() && !plan.bookkeeping.is_empty() {
        notes.push(format!(
            "`grpc-scaffold update` would rewrite only `{}` and the bases",
            record::RECORD
        ));
    }
    if json {
        let report = serde_json::json!({
            "up_to_date": stale.is_empty() && plan.broken.is_empty(),
            "files": stale,
            "broken": plan.broken,
            "notes": notes,
        });
        writeln!(out, "{report:#}").map_err(stdout)?;
    } else {
        for change in &stale {
            writeln!(out, "{}: {}", change.path.display(), change.reason).map_err(stdout)?;
        }
        for note in &notes {
            writeln!(out, "note: {note}").map_err(stdout)?;
        }
        if stale.is_empty() && plan.broken.is_empty() {
            fresh(out, &plan)?;
        }
    }
    if stale.is_empty() {
        builds(plan.broken)
    } else {
        Err(Error::Stale { count: stale.len() })
    }
}

/// The root of the project that `dir` is in: `dir`, or the nearest folder above it with a
/// `grpc-scaffold.toml`, as cargo looks for `Cargo.toml`.
fn root(dir: &Path) -> Result<PathBuf> {
    let has_record = |dir: &Path| fs::symlink_metadata(dir.join(record::RECORD)).is_ok();
    if has_record(dir) {
        return Ok(dir.to_owned());
    }
    let missing = || Error::RecordMissing { dir: dir.into() };
    let absolute = fs::canonicalize(dir).map_err(|_| missing())?;
    absolute
        .ancestors()
        .skip(1)
        .find(|ancestor| has_record(ancestor))
        .map(Path::to_owned)
        .ok_or_else(missing)
}

/// The line of a project that is up to date.
fn fresh(out: &mut dyn io::Write, plan: &Plan) -> Result<()> {
    writeln!(
        out,
        "{:>12} `{}` ({}) is up to date with grpc-scaffold {}",
        "Fresh",
        plan.name,
        plan.kind,
        env!("CARGO_PKG_VERSION")
    )
    .map_err(stdout)
}

/// A line per change, and one for the project.
fn report(out: &mut dyn io::Write, plan: &Plan, verb: &str) -> Result<()> {
    for change in &plan.changes {
        let action = change.action.verb();
        let path = change.path.display();
        writeln!(out, "{action:>12} {path} ({})", change.reason).map_err(stdout)?;
    }
    let count = plan.changes.len();
    let running = env!("CARGO_PKG_VERSION");
    if count == 0 && plan.from_version == running {
        if plan.bookkeeping.is_empty() {
            return fresh(out, plan);
        }
        // Only the record changes: a file of the user's that moved, or that is gone.
        let verb = if verb == "Updated" {
            "Recorded"
        } else {
            "Would record"
        };
        return writeln!(
            out,
            "{verb:>12} `{}` ({}): no file changed; `{}` follows the project",
            plan.name,
            plan.kind,
            record::RECORD
        )
        .map_err(stdout);
    }
    let files = if count == 1 { "file" } else { "files" };
    let conflicts = plan.conflicts().len();
    let (verb, conflicts) = match conflicts {
        0 => (verb, String::new()),
        n => (
            if verb == "Updated" { "Conflict" } else { verb },
            format!(", {n} with conflict markers"),
        ),
    };
    let versions = if plan.from_version == running {
        String::new()
    } else {
        format!(" from grpc-scaffold {} to {running}", plan.from_version)
    };
    writeln!(
        out,
        "{verb:>12} `{}` ({}){versions}: {count} {files}{conflicts}",
        plan.name, plan.kind,
    )
    .map_err(stdout)
}

/// Decide what `update` would do to the project at `dir`, touching nothing.
pub fn plan(dir: &Path) -> Result<Plan> {
    let record = Record::read(dir)?.ok_or_else(|| Error::RecordMissing { dir: dir.into() })?;
    check_version(&record)?;
    let kind = record.kind()?;
    if let Some(package) = package_name(dir)?.filter(|package| *package != record.name) {
        return Err(Error::Renamed {
            recorded: record.name,
            package,
        });
    }
    let name = record.name.clone();
    let mut options = Options::new(&name, kind)?;
    dir.clone_into(&mut options.destination);
    options.runtime = record.runtime()?;

    let templates = templates::load(kind)?;
    let renderer = Renderer::new(&templates)?;
    let mut project = Project::new(&options, &templates.manifest, templates.versions.clone());
    let mut owners = Owners::new();
    let mut decider = Decider {
        dir,
        record: &record,
        changes: Vec::new(),
        notes: Vec::new(),
        next: Record::new(kind, &name, &options.runtime, Vec::new()),
        bases: Files::new(),
        deleted: Vec::new(),
        runtime_edited: Vec::new(),
        unvendored: options.runtime != crate::runtime::Source::Vendor,
    };

    // The protos first: the tool's are merged like any of its files, the user's are read as
    // they are, and together they make the model that everything else is rendered from.
    let protos_rendered = if kind == Kind::Custom {
        Files::new()
    } else {
        renderer.protos(&project, &mut owners)?
    };
    let mut protos = protos_rendered.clone();
    let mut compiled = Files::new();
    for (path, rendered) in &protos {
        let owner = decider.owner(path, &owners);
        if let Some(contents) = decider.decide(path, owner, Some(rendered))? {
            compiled.insert(path.clone(), contents);
        }
    }
    // The tool's protos that the templates no longer write have moved into the runtime crate,
    // which serves their RPCs now: they go as any file of the tool's, not as the user's protos.
    let mut retired = Files::new();
    for (path, contents) in read_protos(dir)? {
        let tool = record
            .entry(&path)
            .is_some_and(|entry| entry.owner == Owner::Tool);
        if tool && !protos.contains_key(&path) {
            retired.insert(path, contents);
            continue;
        }
        if let std::collections::btree_map::Entry::Vacant(vacant) = protos.entry(path.clone()) {
            let owner = decider.owner(&path, &owners);
            decider.decide(&path, owner, Some(&contents))?;
            owners.insert(path.clone(), owner);
            compiled.insert(path, contents.clone());
            vacant.insert(contents);
        }
    }
    project.api = proto::compile_project(&compiled)?;
    if kind != Kind::Custom {
        project
            .api
            .mark_bundled(&proto::compile(kind.id(), &protos_rendered)?);
    }

    let mut code = render_code(&templates, &renderer, &project, &mut owners)?;
    for (path, rendered) in &code {
        let owner = decider.owner(path, &owners);
        decider.decide(path, owner, Some(rendered))?;
    }
    code.extend(decider.decide_copy(options.runtime.files()?)?);
    let gone: Vec<(PathBuf, Owner)> = record
        .files
        .iter()
        .map(|(path, entry)| (PathBuf::from(path), entry.owner))
        .filter(|(path, _)| !code.contains_key(path) && !protos.contains_key(path))
        .collect();
    for (path, owner) in gone {
        decider.decide(&path, owner, None)?;
    }
    decider.refuse_an_edited_copy()?;

    let rpcs = project.api.rpcs();
    decider.note_rpcs(&own_rpcs(&record, &retired), &rpcs, &project)?;
    decider.next.rpcs = rpcs;
    let mut broken = decider.undeclared(&code, &owners);
    broken.extend(unfit_handlers(dir, &project, &code)?);
    let bookkeeping = bookkeeping(dir, &decider.next, &decider.bases)?;
    Ok(Plan {
        changes: decider.changes,
        notes: decider.notes,
        broken,
        bookkeeping,
        from_version: record.grpc_scaffold,
        name,
        kind,
    })
}

/// The RPCs that `record` lists and the project's protos defined: those of the tool's protos that
/// moved into the runtime crate, `retired`, are the runtime's to serve now.
fn own_rpcs(record: &Record, retired: &Files) -> Vec<String> {
    let moved = proto::compile_project(retired).map_or_else(|_| Vec::new(), |api| api.rpcs());
    record
        .rpcs
        .iter()
        .filter(|rpc| !moved.contains(rpc))
        .cloned()
        .collect()
}

/// A line for each handler file of the user's that no longer fits the tool's files, with what to
/// change. Since grpc-scaffold 0.2.0 every service is built with tonic's default stubs, whose
/// traits have no `<Method>Stream` types: a streaming RPC returns `tonic::codegen::BoxStream`.
fn unfit_handlers(dir: &Path, project: &Project, code: &Files) -> Result<Vec<String>> {
    let mut unfit = Vec::new();
    let reply_stream = code
        .values()
        .any(|text| text.contains("pub type ReplyStream<"));
    for service in &project.api.services {
        let file = PathBuf::from(format!("src/services/{}.rs", service.file_name));
        let Some(text) = tree::read(dir, &file)? else {
            continue;
        };
        for method in service.methods.iter().filter(|m| m.server_streaming) {
            let declared = format!("type {}Stream", method.name);
            if text.contains(&declared) {
                unfit.push(format!(
                    "`{}` declares `{declared}`, which the trait no longer has: delete it, and have `{}` return `tonic::Response<tonic::codegen::BoxStream<{}>>`",
                    file.display(),
                    method.rust_name,
                    method.output_type,
                ));
            }
        }
        if !reply_stream && text.contains("ReplyStream") {
            unfit.push(format!(
                "`{}` names `ReplyStream`, which `src/services/mod.rs` no longer defines: use `tonic::codegen::BoxStream`, the same type",
                file.display()
            ));
        }
    }
    Ok(unfit)
}

/// The package name that the project's `Cargo.toml` holds, if it holds one.
fn package_name(dir: &Path) -> Result<Option<String>> {
    let Some(text) = tree::read(dir, Path::new("Cargo.toml"))? else {
        return Ok(None);
    };
    let manifest: toml::Table = toml::from_str(&text).map_err(|err| Error::RecordInvalid {
        path: dir.join("Cargo.toml"),
        reason: err.message().to_owned(),
    })?;
    Ok(manifest
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .map(str::to_owned))
}

fn check_version(record: &Record) -> Result<()> {
    let running = semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("a valid version");
    let recorded =
        semver::Version::parse(&record.grpc_scaffold).map_err(|err| Error::RecordInvalid {
            path: PathBuf::from(record::RECORD),
            reason: format!("`grpc-scaffold = \"{}\"`: {err}", record.grpc_scaffold),
        })?;
    if recorded > running {
        return Err(Error::RecordNewer {
            recorded: recorded.to_string(),
            running: running.to_string(),
        });
    }
    Ok(())
}

/// Every `.proto` under the project's `proto/`, by its path from the project root.
fn read_protos(dir: &Path) -> Result<Files> {
    let mut files = Files::new();
    for relative in tree::files_under(dir, Path::new(proto::PROTO_ROOT))? {
        if relative.extension().is_some_and(|ext| ext == "proto") {
            let path = dir.join(&relative);
            let contents =
                fs::read_to_string(&path).map_err(|source| Error::ProtoFile { path, source })?;
            files.insert(relative, contents);
        }
    }
    Ok(files)
}

/// The writes and removals that bring the record and the bases on disk to `next` and `bases`.
fn bookkeeping(dir: &Path, next: &Record, bases: &Files) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    let wanted = next.files(bases);
    for (path, contents) in &wanted {
        if tree::read(dir, path)?.as_ref() != Some(contents) {
            ops.push(Op::Write(path.clone(), contents.clone()));
        }
    }
    for relative in tree::files_under(dir, Path::new(record::BASE))? {
        if !wanted.contains_key(&relative) {
            ops.push(Op::Remove(relative));
        }
    }
    Ok(ops)
}

/// Decides file by file, gathering the changes, the notes and the next record.
struct Decider<'a> {
    dir: &'a Path,
    record: &'a Record,
    changes: Vec<Change>,
    notes: Vec<String>,
    next: Record,
    /// The base of every tool's file, as this grpc-scaffold generates it.
    bases: Files,
    /// The files the user deleted that the templates still write.
    deleted: Vec<(PathBuf, Owner)>,
    /// The files of the runtime's copy that differ from what was written: the copy is replaced
    /// whole or not at all.
    runtime_edited: Vec<PathBuf>,
    /// Whether the project no longer keeps a copy of the runtime.
    unvendored: bool,
}

impl Decider<'_> {
    /// The record's word on who owns `path`, or else the templates'.
    fn owner(&self, path: &Path, owners: &Owners) -> Owner {
        self.record
            .entry(path)
            .map(|entry| entry.owner)
            .or_else(|| owners.get(path).copied())
            .unwrap_or(Owner::User)
    }

    /// Decide `path`, which the templates now render as `rendered` (or no longer render), and
    /// return what the file will hold.
    fn decide(
        &mut self,
        path: &Path,
        owner: Owner,
        rendered: Option<&str>,
    ) -> Result<Option<String>> {
        let disk = tree::read(self.dir, path)?;
        let entry = self.record.entry(path).cloned();
        let shown = path.display();
        let change = |action, reason: &str, after: Option<&str>| Change {
            path: path.to_owned(),
            owner,
            action,
            reason: reason.to_owned(),
            before: disk.clone(),
            after: after.map(str::to_owned),
        };

        if owner == Owner::Runtime {
            return Ok(self.decide_runtime(path, entry.as_ref(), disk.clone(), rendered, change));
        }
        let Some(new) = rendered else {
            // The templates no longer write this file.
            match (&disk, owner) {
                (Some(disk), Owner::Tool) if entry.as_ref().is_some_and(|e| e.matches(disk)) => {
                    let reason = if replaced_by(path).is_some() {
                        "the runtime crate does this now"
                    } else {
                        "no longer generated"
                    };
                    self.changes.push(change(Action::Remove, reason, None));
                }
                (Some(_), _) => self.notes.push(match replaced_by(path) {
                    Some(instead) => format!(
                        "`{shown}` is edited, and the runtime crate now does what it did; it is left as it is, for you to delete once you have moved your change: {instead}"
                    ),
                    None => format!(
                        "`{shown}` is no longer generated; it is yours now, left as it is"
                    ),
                }),
                (None, Owner::User) => self.notes.push(format!(
                    "`{shown}` is gone, and leaves `{}`",
                    record::RECORD
                )),
                (None, _) => {}
            }
            return Ok(None);
        };

        let (after, recorded) = match (owner, &entry, disk.as_deref()) {
            (Owner::Runtime, _, _) => unreachable!("decided by `decide_runtime`"),
            // Deleted by the user: it stays deleted.
            (_, Some(entry), None) => {
                self.notes.push(format!(
                    "`{shown}` was deleted, and stays deleted; to get it back, remove its line from `{}` and run `grpc-scaffold update`",
                    record::RECORD
                ));
                self.deleted.push((path.to_owned(), owner));
                self.next.keep(path, entry.clone());
                if owner == Owner::Tool {
                    self.bases.insert(path.to_owned(), new.to_owned());
                }
                return Ok(None);
            }
            (Owner::User, None, None) => {
                let reason = "new, and yours from now on";
                self.changes.push(change(Action::Create, reason, Some(new)));
                (new.to_owned(), new.to_owned())
            }
            (Owner::User, None, Some(disk)) => {
                if disk != new {
                    self.notes.push(format!(
                        "`{shown}` is new in the templates, but a file of yours is there: left as it is"
                    ));
                }
                (disk.to_owned(), disk.to_owned())
            }
            (Owner::User, Some(entry), Some(disk)) => {
                self.next.keep(path, entry.clone());
                return Ok(Some(disk.to_owned()));
            }
            (Owner::Tool, None, None) => {
                self.changes
                    .push(change(Action::Create, "new in the templates", Some(new)));
                (new.to_owned(), new.to_owned())
            }
            (Owner::Tool, entry, Some(disk)) => {
                let base = record::read_base(self.dir, path)?.or_else(|| {
                    entry
                        .as_ref()
                        .filter(|entry| entry.matches(disk))
                        .map(|_| disk.to_owned())
                });
                let edited = entry.as_ref().is_none_or(|entry| !entry.matches(disk));
                let decided = decide_tool(base.as_deref().unwrap_or(""), disk, new, edited);
                if let Some((action, reason)) = decided.change {
                    self.changes
                        .push(change(action, reason, Some(&decided.contents)));
                }
                (decided.contents, decided.recorded)
            }
        };
        if owner == Owner::Tool {
            self.bases.insert(path.to_owned(), new.to_owned());
        }
        self.next.insert(path, owner, &recorded);
        Ok(Some(after))
    }

    /// Decide every file of the runtime's copy, `vendored`, and return them.
    fn decide_copy(&mut self, vendored: Files) -> Result<Files> {
        for (path, rendered) in &vendored {
            self.decide(path, Owner::Runtime, Some(rendered))?;
        }
        Ok(vendored)
    }

    /// Fail when a file of the runtime's copy was edited: the copy is replaced whole or not at
    /// all.
    fn refuse_an_edited_copy(&mut self) -> Result<()> {
        if self.runtime_edited.is_empty() {
            return Ok(());
        }
        Err(Error::RuntimeEdited {
            paths: std::mem::take(&mut self.runtime_edited),
        })
    }

    /// Decide a file of the runtime's copy: written when it is new or unedited, removed when the
    /// runtime no longer has it, and noted in `runtime_edited` when it was changed by hand.
    fn decide_runtime(
        &mut self,
        path: &Path,
        entry: Option<&record::Entry>,
        disk: Option<String>,
        rendered: Option<&str>,
        change: impl Fn(Action, &str, Option<&str>) -> Change,
    ) -> Option<String> {
        let unedited = match (&disk, entry) {
            (None, None) => true,
            (Some(disk), Some(entry)) => entry.matches(disk) || rendered == Some(disk.as_str()),
            (Some(disk), None) => rendered == Some(disk.as_str()),
            (None, Some(_)) => false,
        };
        if !unedited {
            self.runtime_edited.push(path.to_owned());
            return disk;
        }
        match (rendered, &disk) {
            (Some(new), Some(disk)) if new == disk => {}
            (Some(new), Some(_)) => {
                self.changes
                    .push(change(Action::Update, "the runtime changed", Some(new)));
            }
            (Some(new), None) => {
                self.changes
                    .push(change(Action::Create, "new in the runtime", Some(new)));
            }
            (None, Some(_)) => {
                let reason = if self.unvendored {
                    "the runtime is no longer vendored"
                } else {
                    "no longer in the runtime"
                };
                self.changes.push(change(Action::Remove, reason, None));
            }
            (None, None) => {}
        }
        let new = rendered?;
        self.next.insert(path, Owner::Runtime, new);
        Some(new.to_owned())
    }

    /// Say which RPCs are gone from the protos, and which are new and have no handler yet.
    fn note_rpcs(&mut self, before: &[String], after: &[String], project: &Project) -> Result<()> {
        let before: BTreeSet<&String> = before.iter().collect();
        let after_set: BTreeSet<&String> = after.iter().collect();
        let files: BTreeMap<&str, String> = project
            .api
            .services
            .iter()
            .map(|service| {
                let file = format!("src/services/{}.rs", service.file_name);
                (service.full_name.as_str(), file)
            })
            .collect();
        let service_of = |rpc: &str| {
            rpc.trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let custom = project.kind == Kind::Custom.id();
        for rpc in before.difference(&after_set) {
            let service = service_of(rpc);
            match files.get(service.as_str()) {
                Some(file) if custom => self.notes.push(format!(
                    "`{rpc}` is gone from the protos; if `{file}` has a handler for it, delete it: the build names it until you do"
                )),
                Some(_) => self.notes.push(format!(
                    "`{rpc}` is gone from the protos; delete its handler, if you wrote one: the build names it until you do"
                )),
                None => self.notes.push(format!(
                    "`{rpc}` is gone from the protos, with its service `{service}`"
                )),
            }
        }
        if before.is_empty() {
            return Ok(());
        }
        for rpc in after_set.difference(&before) {
            let service = service_of(rpc);
            let handler = project
                .api
                .services
                .iter()
                .flat_map(|service| &service.methods)
                .find(|method| method.path == **rpc)
                .map(|method| format!("fn {}(", method.rust_name));
            if let (Some(file), Some(handler)) = (files.get(service.as_str()), handler) {
                let code = tree::read(self.dir, Path::new(file))?;
                if code.is_some_and(|code| code.contains(&handler)) {
                    continue;
                }
            }
            if let Some(file) = files.get(service.as_str()).filter(|_| custom) {
                self.notes.push(format!(
                    "`{rpc}` is new: it answers UNIMPLEMENTED until you write its handler in `{file}`"
                ));
            } else {
                self.notes.push(format!(
                    "`{rpc}` is new: it answers UNIMPLEMENTED until you write its handler"
                ));
            }
        }
        Ok(())
    }

    /// A line for each module that the user deleted while a tool's file still declares it, which
    /// breaks the build.
    fn undeclared(&self, code: &Files, owners: &Owners) -> Vec<String> {
        let mut broken = Vec::new();
        for (path, owner) in &self.deleted {
            let (Some(stem), Some(parent)) = (path.file_stem(), path.parent()) else {
                continue;
            };
            if *owner != Owner::User
                || path.extension().is_none_or(|ext| ext != "rs")
                || !path.starts_with("src")
                || path.starts_with("src/bin")
            {
                continue;
            }
            let declaration = format!("mod {};", stem.to_string_lossy());
            let declarers = [
                parent.join("mod.rs"),
                parent.with_extension("rs"),
                parent.join("lib.rs"),
            ];
            let declarer = declarers.iter().find(|declarer| {
                self.owner(declarer, owners) == Owner::Tool
                    && code.get(*declarer).is_some_and(|text| {
                        text.lines()
                            .any(|line| line.trim_start().trim_start_matches("pub ") == declaration)
                    })
            });
            if let Some(declarer) = declarer {
                broken.push(format!(
                    "`{}` was deleted, but `{}` still declares `{declaration}`, so the build fails; to get the file back, remove its line from `{}` and run `grpc-scaffold update`",
                    path.display(),
                    declarer.display(),
                    record::RECORD,
                ));
            }
        }
        broken
    }
}

/// The decision on one of the tool's files.
struct Decided {
    /// What the file will hold.
    contents: String,
    /// What the record notes as written.
    recorded: String,
    change: Option<(Action, &'static str)>,
}

/// What replaces a file of the server core or a kind's framework that a project kept in its own
/// tree before grpc-scaffold 0.5.0, for the note on such a file that the user had edited.
fn replaced_by(path: &Path) -> Option<&'static str> {
    let path = path.to_str()?;
    let under = |folder: &str| path.starts_with(folder);
    let advice = match path {
        "src/server.rs" | "src/server/listen.rs" | "src/server/calls.rs" | "src/server/admin.rs"
        | "src/server/tests.rs" => {
            "add a tower layer with `Server::layer`, admin routes with `Server::admin_routes`, and settings to `Config` in `src/config.rs`"
        }
        "src/telemetry.rs" => {
            "wrap `telemetry::init` in `src/bin/server.rs`, or add a `tracing` layer of your own there"
        }
        "src/auth.rs" | "src/keys.rs" | "src/access.rs" | "src/public_keys.rs"
        | "src/token_cache.rs" => {
            "check more in your own code (`src/process.rs`, or a layer with `Server::layer`); the token checks are `grpc_scaffold_runtime::jwt`"
        }
        "src/dispatcher.rs" | "src/object.rs" | "src/redact.rs" | "src/signature.rs" => {
            "do it in a hook in `src/hooks.rs`; the dispatcher and its helpers are `grpc_scaffold_runtime::tyk`"
        }
        "src/processor.rs" | "src/reply.rs" | "src/replies.rs" | "src/tools.rs" => {
            "do it in your callout in `src/callout.rs`; the processor and its replies are the runtime's `ext_proc` or `ext_proc_l4`"
        }
        _ if under("src/examples/") => {
            "the examples are the runtime's, chosen by `EXAMPLE`; start your callout in `src/callout.rs` from the one you changed"
        }
        "tests/examples.rs" | "tests/wire.rs" | "tests/server.rs" => {
            "the runtime tests its framework now; test your own callout in `tests/callout.rs`"
        }
        _ if under("proto/coprocess_") || under("proto/envoy/") => {
            "the runtime carries the peer's protos now, as the wire contract has them"
        }
        _ => return None,
    };
    Some(advice)
}

/// Decide one of the tool's files from its `base`, its contents on `disk` and the `new`
/// rendering; `edited` says whether the disk differs from what was last written.
fn decide_tool(base: &str, disk: &str, new: &str, edited: bool) -> Decided {
    let decided = |contents: &str, change| Decided {
        contents: contents.to_owned(),
        recorded: contents.to_owned(),
        change,
    };
    if merge::has_conflict_markers(disk) {
        return Decided {
            contents: disk.to_owned(),
            // Never recorded as written, so that `check` goes on failing until it is resolved.
            recorded: String::new(),
            change: Some((Action::Conflict, "has unresolved conflict markers")),
        };
    }
    if disk == new {
        return decided(disk, None);
    }
    if disk == base {
        return decided(new, Some((Action::Update, "the template changed")));
    }
    match merge::merge(base, disk, new) {
        Merged::Clean(merged) if merged == disk => {
            let change = edited.then_some((Action::Accept, "edited by hand since the last update"));
            decided(disk, change)
        }
        Merged::Clean(merged) => decided(
            &merged,
            Some((Action::Merge, "the template changed; your edits are kept")),
        ),
        Merged::Conflict(conflicted) => Decided {
            contents: conflicted,
            recorded: String::new(),
            change: Some((
                Action::Conflict,
                "your edits and the template's changes overlap",
            )),
        },
    }
}
