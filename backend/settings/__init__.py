"""Settings per environment: `base` for all, `development`, `production` and `test` on top."""
