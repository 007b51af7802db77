//! The render stage: templates and model in, file contents out. Pure: nothing here touches the
//! disk, so a failure can never leave half a project.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::path::PathBuf;

use tera::{Context, Tera};

use crate::error::{Error, Result};
use crate::model::Project;
use crate::templates::{KindTemplates, Template};

/// The generated project: relative path -> contents.
pub type Files = BTreeMap<PathBuf, String>;

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
    pub fn protos(&self, project: &Project) -> Result<Files> {
        self.render(project, Template::is_proto)
    }

    /// Render every other file, now that the model knows the API.
    pub fn rest(&self, project: &Project) -> Result<Files> {
        self.render(project, |template| !template.is_proto())
    }

    fn render(&self, project: &Project, select: impl Fn(&Template) -> bool) -> Result<Files> {
        let context = Context::from_serialize(project).map_err(|e| render_error("model", &e))?;
        let mut files = Files::new();
        for template in self.templates.outputs.iter().filter(|t| select(t)) {
            let body = if template.render {
                self.tera
                    .render(&template.name, &context)
                    .map_err(|err| render_error(&template.name, &err))?
            } else {
                template.body.to_owned()
            };
            files.insert(output_path(template, project), body);
        }
        Ok(files)
    }
}

fn output_path(template: &Template, project: &Project) -> PathBuf {
    template
        .output
        .iter()
        .map(|segment| match segment.to_str() {
            Some("__crate__") => project.crate_name.as_str().as_ref(),
            _ => segment,
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
