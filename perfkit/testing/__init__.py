"""Query-count, N+1 and cache-operation assertions, performance records (issue: testing)."""
