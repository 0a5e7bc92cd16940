#include "capture/kernel_btf.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/fd.h"

namespace pgstall::capture {
namespace {

// The prototype behind btf_trace_<tp>, or nullptr.
const btf_type* tracepoint_proto(const ::btf* b, const std::string& tp) {
  const int id = btf__find_by_name_kind(b, ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return nullptr;
  const btf_type* t = btf__type_by_id(b, btf__resolve_type(b, id));
  if (!t || !btf_is_ptr(t)) return nullptr;
  t = btf__type_by_id(b, t->type);
  return t && btf_is_func_proto(t) ? t : nullptr;
}

}  // namespace

void KernelBtf::Free::operator()(::btf* b) const { btf__free(b); }

Result<KernelBtf> KernelBtf::load() {
  ::btf* b = btf__load_vmlinux_btf();
  if (!b) return fail(fmt::format("cannot read the kernel's BTF: {}", strerror(errno)));
  return KernelBtf(b);
}

bool KernelBtf::has_tracepoint(const std::string& tp) const {
  return btf__find_by_name_kind(btf_.get(), ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF) >= 0;
}

int KernelBtf::tracepoint_args(const std::string& tp) const {
  const btf_type* proto = tracepoint_proto(btf_.get(), tp);
  return proto ? btf_vlen(proto) - 1 : -1;
}

std::string KernelBtf::tracepoint_arg_struct(const std::string& tp, int i) const {
  const btf_type* proto = tracepoint_proto(btf_.get(), tp);
  if (!proto || i < 0 || i + 1 >= btf_vlen(proto)) return "";
  const btf_type* t = btf__type_by_id(btf_.get(), btf__resolve_type(btf_.get(), btf_params(proto)[i + 1].type));
  if (!t || !btf_is_ptr(t)) return "";
  t = btf__type_by_id(btf_.get(), btf__resolve_type(btf_.get(), t->type));
  if (!t || !btf_is_struct(t)) return "";
  return btf__name_by_offset(btf_.get(), t->name_off);
}

bool KernelBtf::has_enum_value(const char* name, const char* value) const {
  const int id = btf__find_by_name_kind(btf_.get(), name, BTF_KIND_ENUM);
  if (id < 0) return false;
  const btf_type* t = btf__type_by_id(btf_.get(), id);
  const struct btf_enum* e = btf_enum(t);
  for (int i = 0; i < btf_vlen(t); ++i)
    if (std::strcmp(btf__name_by_offset(btf_.get(), e[i].name_off), value) == 0) return true;
  return false;
}

bool KernelBtf::has_member(const char* name, const char* member) const {
  for (int kind : {BTF_KIND_STRUCT, BTF_KIND_UNION}) {
    const int id = btf__find_by_name_kind(btf_.get(), name, kind);
    if (id < 0) continue;
    const btf_type* t = btf__type_by_id(btf_.get(), id);
    const struct btf_member* m = btf_members(t);
    for (int i = 0; i < btf_vlen(t); ++i)
      if (std::strcmp(btf__name_by_offset(btf_.get(), m[i].name_off), member) == 0) return true;
  }
  return false;
}

Result<void> KernelBtf::loads_tp_btf(const std::string& tp) const {
  const int id = btf__find_by_name_kind(btf_.get(), ("btf_trace_" + tp).c_str(), BTF_KIND_TYPEDEF);
  if (id < 0) return fail(fmt::format("the kernel's BTF has no btf_trace_{}", tp));
  const bpf_insn return_zero[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},  // r0 = 0
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_RAW_TP,
              .attach_btf_id = static_cast<__u32>(id));
  UniqueFd fd(bpf_prog_load(BPF_PROG_TYPE_TRACING, nullptr, "GPL", return_zero, 2, &opts));
  if (!fd) return fail(fmt::format("a tp_btf program on {} does not load: {}", tp, strerror(errno)));
  return {};
}

}  // namespace pgstall::capture
