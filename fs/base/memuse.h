/* memuse.h: the daemon's resident memory (what cache_size bounds), and giving freed memory back. */
#ifndef FS_MEMUSE_H
#define FS_MEMUSE_H

#include <stddef.h>

/* Bytes of the process's memory resident now (/proc/self/statm): the heap, libfuse's
 * node slabs, stacks, everything; 0 when it cannot be read. A read of a small file:
 * call it now and then, not per allocation. */
size_t memuse_resident(void);

/* Gives the pages of freed heap memory back to the system (every arena), so that the
 * resident size falls with what was freed. Walks the free lists: after freeing much. */
void memuse_release(void);

#endif /* FS_MEMUSE_H */
