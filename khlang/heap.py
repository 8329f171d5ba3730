"""How the server's C heap (glibc malloc) gives memory back to the system."""
import ctypes

# mallopt's parameters (glibc's malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 128 * 1024   # glibc's own starting value, kept fixed
ARENAS = 2


def return_freed_memory():
    """Keep large blocks out of the heap and the heap in few arenas, so that what a request frees goes back to the
    system; True where the C library is glibc and took both settings.

    glibc raises its mmap threshold after each large block is freed, up to 32 MB, and gives each thread an arena
    of its own: the 1 MB chunks of downloads then stayed in the server's heap between requests (bench/
    export_bench.py: 186-228 MB two seconds after each download, 175-183 MB with both settings)."""
    try:
        libc = ctypes.CDLL(None)   # the process's own symbols, the C library's among them (find_library runs ldconfig)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version   # noqa: B018 - glibc only: musl's mallopt takes nothing
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(M_ARENA_MAX, ARENAS) == 1
