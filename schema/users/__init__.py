"""The users domain in GraphQL: `User`, `me`, `users`, sign-in and profile mutations. May
import `schema.orders` (a user's orders), `schema.core` and `apps`."""
