//! `mcpp gateway logout`: forgets the stored token (tokens expire on their own; an admin
//! can also invalidate them by changing the password or disabling the user).

use crate::args::LogoutArgs;

/// Removes the token file.
pub(crate) fn run(_args: LogoutArgs) -> anyhow::Result<()> {
    super::credentials::remove_session()?;
    match super::credentials::remove_token()? {
        Some(path) => println!("logged out (removed {})", path.display()),
        None => println!("not logged in"),
    }
    Ok(())
}
