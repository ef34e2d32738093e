//! `porchlight users`: a merchant's console team, as the operator manages it.

use std::io::Read;

use anyhow::{Context, bail};
use clap::Subcommand;
use porchlight::app::team::{self, Actor, NewMember, Purpose};
use porchlight::app::{AppError, Deps};
use porchlight::domain::{Member, Role};

use super::tenants::tenant_id;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a member to a merchant's team. Without `--password-stdin`, prints a one-time
    /// sign-in link (24 hours) instead.
    Add {
        /// The merchant's id.
        tenant_id: String,
        /// The member's email address (one merchant's team per address).
        email: String,
        /// owner, admin, agent or viewer.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// How the team knows them.
        #[arg(long, default_value = "")]
        name: String,
        /// Read their password (12 to 256 characters) from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a merchant's team.
    List {
        /// The merchant's id.
        tenant_id: String,
    },
    /// Remove a member (by id or email); their sessions end.
    Remove {
        /// The merchant's id.
        tenant_id: String,
        /// The member's id (`usr_...`) or email address.
        member: String,
    },
    /// Print a one-time sign-in link (24 hours) for a member, e.g. one locked out.
    Link {
        /// The merchant's id.
        tenant_id: String,
        /// The member's id (`usr_...`) or email address.
        member: String,
    },
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).map_err(|_| format!("{text:?} is not a role: owner, admin, agent or viewer"))
}

/// Where the console is reached, for printed links.
fn console_base(deps: &Deps) -> String {
    deps.public_url.as_deref().unwrap_or("http://127.0.0.1:8080").to_owned()
}

fn print_link(deps: &Deps, member: &Member) {
    let link = team::link_for(deps, member, Purpose::SignIn);
    println!("one-time sign-in link (until {}):", link.expires_at.to_rfc3339());
    println!("{}/console/link/{}", console_base(deps), link.token);
}

pub async fn run(deps: &Deps, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Add { tenant_id: raw, email, role, name, password_stdin } => {
            let tenant = tenant_id(&raw)?;
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading the password from standard input")?;
                Some(text.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let new = NewMember { email: &email, name: &name, role, password: password.as_deref() };
            let member = match team::add_member(deps, &tenant, &Actor::Operator, new).await {
                Ok(member) => member,
                Err(AppError::Missing(_)) => bail!("no tenant {tenant}"),
                Err(AppError::Invalid(invalid)) => bail!("{invalid}"),
                Err(AppError::Unprocessable(why)) => bail!("{why}"),
                Err(other) => return Err(other).context("adding the member"),
            };
            println!("added {} ({}) as {}", member.email, member.id, member.role.as_str());
            if member.password_hash.is_none() {
                print_link(deps, &member);
            }
        }
        UsersCommand::List { tenant_id: raw } => {
            let tenant = tenant_id(&raw)?;
            if deps.tenants.get_tenant(&tenant).await?.is_none() {
                bail!("no tenant {tenant}");
            }
            for m in team::members(deps, &tenant).await.context("listing the team")? {
                let last = m.last_sign_in_at.map_or("never signed in".to_owned(), |t| t.to_rfc3339());
                let password = if m.password_hash.is_some() { "password set" } else { "no password" };
                println!("{}\t{}\t{}\t{}\t{}\t{}", m.id, m.email, m.role.as_str(), m.name, password, last);
            }
        }
        UsersCommand::Remove { tenant_id: raw, member } => {
            let tenant = tenant_id(&raw)?;
            match team::remove_member(deps, &tenant, &Actor::Operator, &member).await {
                Ok(removed) => println!("removed {} ({})", removed.email, removed.id),
                Err(AppError::Missing(_)) => bail!("tenant {tenant} has no member {member}"),
                Err(AppError::Unprocessable(why)) => bail!("{why}"),
                Err(other) => return Err(other).context("removing the member"),
            }
        }
        UsersCommand::Link { tenant_id: raw, member } => {
            let tenant = tenant_id(&raw)?;
            match team::find_member(deps, &tenant, &member).await {
                Ok(found) => print_link(deps, &found),
                Err(AppError::Missing(_)) => bail!("tenant {tenant} has no member {member}"),
                Err(other) => return Err(other).context("finding the member"),
            }
        }
    }
    Ok(())
}
