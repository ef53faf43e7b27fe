//! The syncgate edge worker. It runs the verification core in Cloudflare Workers; the routes,
//! KV routing and per-tenant Durable Objects arrive with the edge issue.
