/* memuse.c: the resident size from /proc, and malloc_trim where the C library has it. */
#include "memuse.h"

#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

size_t memuse_resident(void)
{
    char buf[128];
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    ssize_t n;
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0 || page <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
        return 0;
    return (size_t)(resident * (unsigned long long)page);
}

void memuse_release(void)
{
#if HAVE_MALLOC_TRIM
    malloc_trim(0);
#endif
}
