//! The shipments list's saved views: a merchant's named filters, shared by its team (one
//! settings document).

use serde::{Deserialize, Serialize};

use crate::app::{AppError, Deps, documents};
use crate::domain::{DomainError, TenantId};
use crate::ports::SettingsKind;

/// Most views a merchant keeps.
pub const MAX_VIEWS: usize = 50;

/// A named view: the list's query string (`?slug=ups&tag=Exception`, or empty for all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    /// How the team calls it (1 to 60 characters, unique).
    pub name: String,
    /// The filters, as the list's address writes them.
    pub query: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Views {
    views: Vec<SavedView>,
}

/// The merchant's saved views, in the order they were saved.
pub async fn saved_views(deps: &Deps, tenant: &TenantId) -> Result<Vec<SavedView>, AppError> {
    let (views, _) = documents::read::<Views>(deps, tenant, SettingsKind::ConsoleViews).await?;
    Ok(views.unwrap_or_default().views)
}

/// Saves `query` as the view `name` (replacing one of that name). `Invalid` for an empty or
/// long name, a query that is not the list's, or one view too many.
pub async fn save_view(deps: &Deps, tenant: &TenantId, name: &str, query: &str) -> Result<SavedView, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "must be 1 to 60 characters").into());
    }
    let query = query.trim();
    if query.len() > 1000 || !(query.is_empty() || query.starts_with('?')) || query.contains(['#', '\n']) {
        return Err(DomainError::invalid("query", "must be the list's filters").into());
    }
    let view = SavedView { name: name.to_owned(), query: query.to_owned() };
    documents::change(deps, tenant, SettingsKind::ConsoleViews, Views::default, |views| {
        views.views.retain(|v| v.name != view.name);
        if views.views.len() >= MAX_VIEWS {
            return Err(DomainError::invalid("name", format!("a merchant keeps at most {MAX_VIEWS} views")).into());
        }
        views.views.push(view.clone());
        Ok(())
    })
    .await?;
    Ok(view)
}

/// Forgets the view `name`. `Missing` if there is none.
pub async fn delete_view(deps: &Deps, tenant: &TenantId, name: &str) -> Result<(), AppError> {
    documents::change(deps, tenant, SettingsKind::ConsoleViews, Views::default, |views| {
        let before = views.views.len();
        views.views.retain(|v| v.name != name);
        if views.views.len() == before { Err(AppError::Missing("view")) } else { Ok(()) }
    })
    .await
}
