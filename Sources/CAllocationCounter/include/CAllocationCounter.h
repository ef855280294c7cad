// Counts heap allocations per thread, for tests that pin a hot path at zero allocations (as
// SwiftNIO's allocation counter does). Linked into the test binary only: it replaces malloc
// and friends for the whole process, forwarding to glibc's own implementations.
#ifndef VOLLEY_ALLOCATION_COUNTER_H
#define VOLLEY_ALLOCATION_COUNTER_H

/// Allocations (malloc, calloc, realloc, aligned) made by the calling thread so far.
long volley_allocations_on_this_thread(void);
/// Bytes of heap the calling thread allocated and has not freed itself (usable sizes).
long volley_heap_held_by_this_thread(void);

#endif
