//! What the auth verbs print: users, keys, and the one-time display of a new key.

use gateway_core::api::{ApiKeyInfo, CreatedApiKey, UserInfo};

use super::Table;

/// One line confirming a new user.
pub(crate) fn created_user(user: &UserInfo) -> String {
    format!(
        "created user {} (role {}, templates {})",
        user.username,
        user.role,
        templates(user.templates.as_deref())
    )
}

/// A new key: details, the key on a line of its own (for scripts: `tail -n 2 | head -n 1`),
/// and a warning that it is not shown again.
pub(crate) fn created_key(created: &CreatedApiKey) -> String {
    let info = &created.info;
    format!(
        "created API key {} (id {}, owner {}, scopes {}, templates {}, expires {})\n{}\n\
         Store this key now: it cannot be shown again.\n",
        info.name,
        info.id,
        info.owner,
        info.scopes.join(" "),
        templates(info.templates.as_deref()),
        info.expires_at.as_deref().unwrap_or("never"),
        created.key,
    )
}

/// The users table.
pub(crate) fn users(users: &[UserInfo]) -> String {
    let mut table = Table::new(["USER", "ROLE", "ACTIVE", "TEMPLATES", "CREATED"]);
    for u in users {
        table.row([
            u.username.clone(),
            u.role.clone(),
            if u.active { "yes" } else { "no" }.to_owned(),
            templates(u.templates.as_deref()),
            u.created_at.clone(),
        ]);
    }
    table.render()
}

/// The keys table.
pub(crate) fn api_keys(keys: &[ApiKeyInfo]) -> String {
    if keys.is_empty() {
        return "no API keys (create one with `mcpp gateway create-api-key NAME`)\n".to_owned();
    }
    let mut table = Table::new([
        "ID",
        "NAME",
        "OWNER",
        "SCOPES",
        "TEMPLATES",
        "EXPIRES",
        "LAST USED",
        "STATUS",
    ]);
    for k in keys {
        table.row([
            k.id.clone(),
            k.name.clone(),
            k.owner.clone(),
            k.scopes.join(","),
            templates(k.templates.as_deref()),
            k.expires_at.clone().unwrap_or_else(|| "never".into()),
            k.last_used_at.clone().unwrap_or_else(|| "-".into()),
            if k.revoked_at.is_some() {
                "revoked"
            } else {
                "active"
            }
            .to_owned(),
        ]);
    }
    table.render()
}

/// `3600` as `1h`, `90` as `90s`.
pub(crate) fn seconds(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn templates(list: Option<&[String]>) -> String {
    match list {
        None => "all".to_owned(),
        Some(list) => list.join(","),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKeyInfo {
        ApiKeyInfo {
            id: "0123456789abcdef".into(),
            name: "my-app".into(),
            owner: "admin".into(),
            scopes: vec!["mcp:read".into(), "mcp:call".into()],
            templates: None,
            rate_limit: None,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn new_keys_are_shown_with_a_warning() {
        let text = created_key(&CreatedApiKey {
            key: "mcpgw_0123456789abcdef_SECRET".into(),
            info: key(),
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "mcpgw_0123456789abcdef_SECRET");
        assert!(lines[0].contains("my-app") && lines[0].contains("expires never"));
        assert!(lines[2].contains("cannot be shown again"));
    }

    #[test]
    fn tables_and_durations() {
        let text = api_keys(&[key()]);
        assert!(text.starts_with("ID"), "{text}");
        assert!(text.contains("mcp:read,mcp:call") && text.contains("active"));
        assert!(api_keys(&[]).contains("no API keys"));
        assert_eq!(seconds(3600), "1h");
        assert_eq!(seconds(86_400 * 2), "2d");
        assert_eq!(seconds(90), "90s");
    }
}
