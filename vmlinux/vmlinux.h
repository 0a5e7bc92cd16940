/* Dispatch to the checked-in vmlinux.h of the target architecture.
 * Regenerate one from a host's BTF only on purpose:
 *   bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/x86_64/vmlinux.h */
#if defined(__TARGET_ARCH_x86)
#include "x86_64/vmlinux.h"
#elif defined(__TARGET_ARCH_arm64)
#include "arm64/vmlinux.h"
#else
#error "pgstall: no vmlinux.h for this architecture"
#endif
