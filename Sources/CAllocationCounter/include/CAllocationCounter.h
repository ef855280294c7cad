// Counts heap allocations per thread, for tests that pin a hot path at zero allocations (as
// SwiftNIO's allocation counter does). Linked into the test binary only: it replaces malloc
// and friends for the whole process, forwarding to glibc's own implementations.
#ifndef VOLLEY_ALLOCATION_COUNTER_H
#define VOLLEY_ALLOCATION_COUNTER_H

/// Allocations (malloc, calloc, realloc, aligned) made by the calling thread so far.
long volley_allocations_on_this_thread(void);
/// Bytes of heap in use in the whole process (glibc's mallinfo2: allocated chunks, mmapped ones included).
long volley_heap_in_use(void);

#endif
