#pragma once
// What the running kernel offers, asked of the kernel itself: its BTF
// (tracepoint prototypes, types, the BPF helper list) and, where only the
// verifier can tell, a two-instruction trial load. Features, never version
// numbers: distributions backport. docs/KERNEL.md lists what depends on what.
#include <memory>
#include <string>

#include "util/result.h"

struct btf;

namespace pgstall::capture {

class KernelBtf {
 public:
  // The kernel's own BTF (/sys/kernel/btf/vmlinux).
  static Result<KernelBtf> load();

  // A tracepoint's arguments as tp_btf programs see them (btf_trace_<tp>, a
  // pointer to a prototype whose first parameter is the probe's data).
  bool has_tracepoint(const std::string& tp) const;
  int tracepoint_args(const std::string& tp) const;  // -1: no such tracepoint
  // The struct argument i points to ("request"); empty when not a struct pointer.
  std::string tracepoint_arg_struct(const std::string& tp, int i) const;
  // Whether `enum name` has an enumerator `value` (a BPF helper exists when
  // enum bpf_func_id names it).
  bool has_enum_value(const char* name, const char* value) const;
  // Whether struct or union `name` has a member `member`.
  bool has_member(const char* name, const char* member) const;
  // Whether the kernel loads a tp_btf program on `tp` (5.5+, BTF for it, and
  // nothing in the configuration refusing BPF_PROG_TYPE_TRACING).
  Result<void> loads_tp_btf(const std::string& tp) const;

 private:
  struct Free {
    void operator()(::btf* b) const;
  };
  explicit KernelBtf(::btf* b) : btf_(b) {}
  std::unique_ptr<::btf, Free> btf_;
};

}  // namespace pgstall::capture
