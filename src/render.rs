//! The render stage: templates and model in, file contents out. Pure: nothing here touches the
//! disk, so a failure can never leave half a project.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::path::PathBuf;

use tera::{Context, Tera};

use crate::error::{Error, Result};
use crate::model::{Api, Project};
use crate::templates::{KindTemplates, Owner, Template};

/// The generated project: relative path -> contents.
pub type Files = BTreeMap<PathBuf, String>;

/// Who owns each generated file.
pub type Owners = BTreeMap<PathBuf, Owner>;

/// Renders one kind's templates.
#[derive(Debug)]
pub struct Renderer<'a> {
    templates: &'a KindTemplates,
    tera: Tera,
}

impl<'a> Renderer<'a> {
    pub fn new(templates: &'a KindTemplates) -> Result<Self> {
        let mut tera = Tera::default();
        tera.autoescape_on(Vec::new());
        tera.add_raw_templates(
            templates
                .all
                .iter()
                .filter(|t| t.render)
                .map(|t| (t.name.as_str(), t.body)),
        )
        .map_err(|err| render_error("templates", &err))?;
        Ok(Self { templates, tera })
    }

    /// Render the proto files, which the proto stage compiles before anything else is rendered.
    pub fn protos(&self, project: &Project, owners: &mut Owners) -> Result<Files> {
        self.render(project, owners, Template::is_proto)
    }

    /// Render every other file, now that the model knows the API.
    pub fn rest(&self, project: &Project, owners: &mut Owners) -> Result<Files> {
        self.render(project, owners, |template| !template.is_proto())
    }

    fn render(
        &self,
        project: &Project,
        owners: &mut Owners,
        select: impl Fn(&Template) -> bool,
    ) -> Result<Files> {
        let context = Context::from_serialize(project).map_err(|e| render_error("model", &e))?;
        // A file per service sees its `service`, and the project without the whole API: cloning
        // a context that holds every service, once per service, would cost more than rendering.
        let service_context = || {
            let project = Project {
                api: Api::default(),
                ..project.clone()
            };
            Context::from_serialize(project).map_err(|e| render_error("model", &e))
        };
        let mut files = Files::new();
        for template in self.templates.outputs.iter().filter(|t| select(t)) {
            if template
                .output
                .iter()
                .any(|s| s.to_string_lossy().starts_with(SERVICE))
            {
                // One file per service, with `service` in the context.
                let base = service_context()?;
                // The kind's own services are served by its own templates.
                for service in project.api.services.iter().filter(|s| !s.bundled) {
                    let mut context = base.clone();
                    context.insert("service", service);
                    let path = output_path(template, project, &service.file_name);
                    owners.insert(path.clone(), template.owner);
                    files.insert(path, self.body(template, &context)?);
                }
            } else {
                let path = output_path(template, project, "");
                owners.insert(path.clone(), template.owner);
                files.insert(path, self.body(template, &context)?);
            }
        }
        Ok(files)
    }

    fn body(&self, template: &Template, context: &Context) -> Result<String> {
        if template.render {
            self.tera
                .render(&template.name, context)
                .map_err(|err| render_error(&template.name, &err))
        } else {
            Ok(template.body.to_owned())
        }
    }
}

/// The path segment of a template that is rendered once per service, as `<module_name>`.
const SERVICE: &str = "__service__";

fn output_path(template: &Template, project: &Project, service: &str) -> PathBuf {
    template
        .output
        .iter()
        .map(|segment| match segment.to_str() {
            Some("__crate__") => project.crate_name.clone(),
            Some(name) if name.starts_with(SERVICE) => name.replacen(SERVICE, service, 1),
            _ => segment.to_string_lossy().into_owned(),
        })
        .collect()
}

/// Tera puts the useful part of an error at the end of its source chain.
fn render_error(template: &str, err: &tera::Error) -> Error {
    let mut reason = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        reason = format!("{reason}: {cause}");
        source = cause.source();
    }
    Error::Render {
        template: template.to_owned(),
        reason,
    }
}
