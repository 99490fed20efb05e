//! `tessera catalog import`: projects and classifications of labelling work.

use crate::cli::print_json;
use clap::Subcommand;
use std::path::PathBuf;
use tessera_storage::observations::{Catalog, CatalogError, Manifest};

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Add or update projects and classifications from a manifest JSON file.
    Import {
        #[arg(long)]
        catalog: PathBuf,
        manifest: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: CatalogCommand) -> anyhow::Result<()> {
    match command {
        CatalogCommand::Import { catalog, manifest, json } => {
            let text =
                std::fs::read_to_string(&manifest).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
            let parsed: Manifest =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
            let base = manifest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let base = base.canonicalize().map_err(|e| anyhow::anyhow!("{}: {e}", base.display()))?;
            // A bad entry refuses the whole manifest before a catalog is created or touched.
            let named = |e: String| anyhow::anyhow!("{}: {e}", manifest.display());
            parsed.check(&base).map_err(named)?;
            let mut cat = Catalog::open(&catalog, true)?;
            let (projects, classifications) = cat.import(&parsed, &base).map_err(|e| match e {
                CatalogError::Invalid(e) => named(e),
                other => other.into(),
            })?;
            if json {
                print_json(&serde_json::json!({"projects": projects, "classifications": classifications}))
            } else {
                out!("{}: {projects} projects, {classifications} classifications imported", catalog.display())?;
                Ok(())
            }
        }
    }
}
