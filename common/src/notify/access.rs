//! The emails that let a merchant's team member in: an invitation, a password reset, and the
//! notice that their sign-in was locked after failed attempts. In English, like the team's
//! other emails, in the merchant's branded layout.

use minijinja::context;

use super::Message;
use crate::domain::{Language, TrackingPage};

/// Which access email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessEmail {
    /// Joining the team: the link sets a first password.
    Invitation,
    /// A reset asked for: the link sets a new password.
    PasswordReset,
    /// Sign-in locked: when it opens again, and the reset link.
    Locked,
}

/// Writes `kind` for the team of `page`'s merchant, with `link` (valid for `valid_for`, in
/// words) and, for a lockout, when it ends (`until`, as written for people).
pub fn compose_access_email(
    kind: AccessEmail,
    page: &TrackingPage,
    link: &str,
    valid_for: &str,
    until: &str,
) -> Result<Message, minijinja::Error> {
    let brand = &page.brand_name;
    let (subject, headline, body, button) = match kind {
        AccessEmail::Invitation => (
            format!("You are invited to {brand}'s Porchlight console"),
            format!("Join {brand}'s team"),
            format!("Choose a password to sign in. The link works for {valid_for}, once."),
            "Accept the invitation",
        ),
        AccessEmail::PasswordReset => (
            format!("Reset your password for {brand}'s console"),
            "Reset your password".to_owned(),
            format!(
                "Someone asked to reset the password of this address. The link works for {valid_for}, once; \
                 if it was not you, ignore this email and your password stays as it is."
            ),
            "Choose a new password",
        ),
        AccessEmail::Locked => (
            format!("Sign-in to {brand}'s console was locked"),
            "Your sign-in is locked for now".to_owned(),
            format!(
                "After several wrong passwords in a row, signing in with this address is refused until {until}. \
                 If it was not you, choose a new password with the link (it works for {valid_for}, once)."
            ),
            "Choose a new password",
        ),
    };
    let context = context! {
        headline => headline,
        body => body,
        order_label => "",
        title => None::<&str>,
        carrier_label => "",
        carrier => None::<&str>,
        tracking_number => "",
        latest_label => "",
        latest => None::<&str>,
        track_button => button,
        tracking_url => link,
        why => format!("You get this because this address is on {brand}'s team in Porchlight."),
        ..super::team_frame(page, &subject)
    };
    super::email_only(Language::En, subject, context)
}
