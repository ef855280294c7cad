// See CAllocationCounter.h. glibc exports its allocator under __libc_* names, so these
// replacements need no dlsym (which itself allocates) to reach it.
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include "CAllocationCounter.h"

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *pointer);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static __thread long allocations __attribute__((tls_model("initial-exec")));
// Bytes this thread's allocations hold, less what this thread freed (usable sizes): the heap a
// thread's own work keeps, undisturbed by other threads (tests run in parallel in one process).
static __thread long held __attribute__((tls_model("initial-exec")));

long volley_allocations_on_this_thread(void) { return allocations; }
long volley_heap_held_by_this_thread(void) { return held; }

static void *counted(void *p) {
    if (p) held += (long)malloc_usable_size(p);
    return p;
}


void *malloc(size_t size) {
    allocations++;
    return counted(__libc_malloc(size));
}

void free(void *pointer) {
    if (pointer) held -= (long)malloc_usable_size(pointer);
    __libc_free(pointer);
}

void *calloc(size_t count, size_t size) {
    allocations++;
    return counted(__libc_calloc(count, size));
}

void *realloc(void *pointer, size_t size) {
    allocations++;
    if (pointer) held -= (long)malloc_usable_size(pointer);
    return counted(__libc_realloc(pointer, size));
}

void *memalign(size_t alignment, size_t size) {
    allocations++;
    return counted(__libc_memalign(alignment, size));
}

void *aligned_alloc(size_t alignment, size_t size) {
    allocations++;
    return counted(__libc_memalign(alignment, size));
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0) return EINVAL;
    allocations++;
    void *p = counted(__libc_memalign(alignment, size));
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}
