"""Users: accounts with an email login and a role, access and refresh tokens, login limits,
the welcome email. May import `apps.core`."""
