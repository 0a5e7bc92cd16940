/* A test binary for the symbolizer: built without frame pointers, then
 * stripped (its .dynsym keeps only the exported function) with its symbols
 * split into a build-id debug file. It prints the run-time addresses of a
 * static and an exported function, then waits to be read. */
#include <stdio.h>
#include <unistd.h>

static __attribute__((noinline)) int pgstall_hidden_work(int x) {
  __asm__ volatile("" ::: "memory");
  return x * 7 + 3;
}

__attribute__((noinline, visibility("default"))) int pgstall_exported_entry(int x) {
  return pgstall_hidden_work(x) + 1;
}

int main(void) {
  printf("%p %p\n", (void *)pgstall_hidden_work, (void *)pgstall_exported_entry);
  fflush(stdout);
  sleep(60);
  return pgstall_exported_entry(1) == 0;
}
