//! State shared by the replicas of a fleet through Redis (`MCP_GATEWAY_REDIS_URL`):
//! request rate limits ([`FleetRateLimiter`]) and login throttling and lockouts (the
//! counters of [`crate::throttle`]), each behind the same interface as its in-memory
//! counterpart, which stays the fallback.
//!
//! [`RedisLink`] owns the connection and knows whether Redis answers. While it does,
//! every decision is one atomic Lua script on the Redis server (its clock, not the
//! replicas'). When a call fails or times out the link is marked down, a warning is
//! logged once, and decisions are taken in this process's memory (each replica then
//! enforces the limits on its own); a background probe pings Redis every second and,
//! once it answers, decisions are shared again. The server reports the state in
//! `/gateway/health` (`degraded`, cause `redis_unreachable`).
//!
//! One Redis server (or a Sentinel-managed primary) is assumed, not Redis Cluster: a
//! login's three buckets are updated by one script, so their keys must live together.

mod link;
mod rate_limit;
mod scripts;
mod throttle;

pub use link::RedisLink;
pub use rate_limit::FleetRateLimiter;
pub(crate) use throttle::RedisThrottle;
