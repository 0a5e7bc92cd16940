#include "model/relpath.h"

#include "model/procfs.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

namespace pgstall::model {
namespace {

constexpr std::string_view kDeletedSuffix = " (deleted)";

// Decimal as PostgreSQL prints an Oid/segment (%u): digits, no sign, no
// leading zeros, fits in 32 bits.
bool parse_u32(std::string_view s, uint32_t& out) {
    if (s.empty() || (s.size() > 1 && s.front() == '0')) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && ptr == s.data() + s.size();
}

bool parse_oid(std::string_view s, uint32_t& out) { return parse_u32(s, out) && out != 0; }

std::string_view strip_trailing_slashes(std::string_view s) {
    while (s.size() > 1 && s.back() == '/') s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_path(std::string_view rel) {
    std::vector<std::string_view> parts;
    size_t i = 0;
    while (i <= rel.size()) {
        size_t j = rel.find('/', i);
        if (j == std::string_view::npos) j = rel.size();
        parts.push_back(rel.substr(i, j - i));
        i = j + 1;
    }
    return parts;
}

// TABLESPACE_VERSION_DIRECTORY: "PG_" PG_MAJORVERSION "_" CATALOG_VERSION_NO,
// e.g. PG_15_202209061.
bool is_version_dir(std::string_view s) {
    if (!s.starts_with("PG_")) return false;
    const size_t us = s.rfind('_');
    if (us <= 3 || us + 1 >= s.size()) return false;
    const std::string_view catver = s.substr(us + 1);
    return std::all_of(catver.begin(), catver.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "[t<backend>_]<relfilenode>[_<fork>][.<segment>]"
bool parse_relation_file(std::string_view name, bool allow_temp, PgFile& f) {
    bool temp = false;
    uint32_t backend = 0;
    if (allow_temp && name.starts_with('t')) {
        const size_t us = name.find('_');
        if (us == std::string_view::npos || !parse_u32(name.substr(1, us - 1), backend)) return false;
        temp = true;
        name.remove_prefix(us + 1);
    }

    uint32_t segment = 0;
    if (const size_t dot = name.find('.'); dot != std::string_view::npos) {
        // Segment 0 carries no suffix, so ".0" is never a relation segment.
        if (!parse_oid(name.substr(dot + 1), segment)) return false;
        name = name.substr(0, dot);
    }

    std::string_view fork = "main";
    if (const size_t us = name.find('_'); us != std::string_view::npos) {
        fork = name.substr(us + 1);
        if (fork != "fsm" && fork != "vm" && fork != "init") return false;
        name = name.substr(0, us);
    }

    uint32_t relfilenode = 0;
    if (!parse_oid(name, relfilenode)) return false;

    f.kind = PgFileKind::Relation;
    f.relfilenode = relfilenode;
    f.fork = fork;
    f.segment = segment;
    f.temp = temp;
    f.temp_backend = backend;
    return true;
}

bool is_wal_segment_name(std::string_view s) {
    return s.size() == 24 &&
           std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

// rel is relative to the data directory.
PgFile classify_rel(std::string_view rel) {
    PgFile f;
    f.rel = rel;
    const auto c = split_path(rel);
    uint32_t db = 0, spc = 0;

    if (c.size() == 3 && c[0] == "base" && parse_oid(c[1], db)) {
        if (parse_relation_file(c[2], true, f)) {
            f.spc_oid = kDefaultTablespaceOid;
            f.db_oid = db;
        }
    } else if (c.size() == 2 && c[0] == "global") {
        if (parse_relation_file(c[1], false, f)) f.spc_oid = kGlobalTablespaceOid;
    } else if (c.size() == 5 && c[0] == "pg_tblspc" && parse_oid(c[1], spc) && is_version_dir(c[2]) &&
               parse_oid(c[3], db)) {
        if (parse_relation_file(c[4], true, f)) {
            f.spc_oid = spc;
            f.db_oid = db;
        }
    } else if (c.size() == 2 && (c[0] == "pg_wal" || c[0] == "pg_xlog") && !c[1].empty()) {
        f.kind = PgFileKind::Wal;  // segments, .partial, .history, xlogtemp.<pid>
    } else if (c.size() == 2 && (c[0] == "pg_xact" || c[0] == "pg_clog") && !c[1].empty()) {
        f.kind = PgFileKind::Xact;
    }
    return f;
}

// A tablespace file seen at its resolved location without a known oid:
// ".../PG_<major>_<catver>/<db>/<file>".
std::optional<PgFile> classify_unknown_tablespace(std::string_view path) {
    for (size_t pos = path.find("/PG_"); pos != std::string_view::npos; pos = path.find("/PG_", pos + 1)) {
        const auto c = split_path(path.substr(pos + 1));
        uint32_t db = 0;
        if (c.size() != 3 || !is_version_dir(c[0]) || !parse_oid(c[1], db)) continue;
        PgFile f;
        f.rel = path;
        if (parse_relation_file(c[2], true, f)) f.db_oid = db;  // spc_oid stays 0: unknown
        return f;
    }
    return std::nullopt;
}

}  // namespace

std::vector<Tablespace> read_tablespaces(std::string_view data_dir) {
    std::vector<Tablespace> out;
    const std::string dir = std::string(strip_trailing_slashes(data_dir)) + "/pg_tblspc";
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (const dirent* e = ::readdir(d)) {
        uint32_t oid = 0;
        if (!parse_oid(e->d_name, oid)) continue;
        char buf[4096];
        const std::string link = dir + "/" + e->d_name;
        const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
        // In-place tablespaces (PG 15+, tests only) are real directories: not
        // links, and inside the data dir anyway.
        if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) continue;
        // fd links show fully resolved paths, so resolve the location the same
        // way; a dangling link still gets its lexical target.
        std::error_code ec;
        std::filesystem::path target = std::filesystem::canonical(link, ec);
        if (ec) {
            target = std::string(buf, static_cast<size_t>(n));
            if (target.is_relative()) target = std::filesystem::path(dir) / target;
            target = target.lexically_normal();
        }
        out.push_back({oid, std::string(strip_trailing_slashes(target.string()))});
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const Tablespace& a, const Tablespace& b) { return a.oid < b.oid; });
    return out;
}

std::optional<PgFile> classify_path(std::string_view abs_path, std::string_view data_dir,
                                    std::span<const Tablespace> tablespaces) {
    std::string_view p = abs_path;
    bool deleted = false;
    if (p.ends_with(kDeletedSuffix)) {
        p.remove_suffix(kDeletedSuffix.size());
        deleted = true;
    }
    if (p.empty() || p.front() != '/') return std::nullopt;  // pipes, sockets, anon inodes

    std::optional<PgFile> found;
    const std::string_view dd = strip_trailing_slashes(data_dir);
    if (!dd.empty() && dd != "/") {
        if (p == dd) {
            found = PgFile{};
        } else if (p.size() > dd.size() + 1 && p.starts_with(dd) && p[dd.size()] == '/') {
            found = classify_rel(p.substr(dd.size() + 1));
        }
    }
    if (!found) {
        for (const auto& ts : tablespaces) {
            const std::string_view loc = strip_trailing_slashes(ts.location);
            if (loc.empty() || loc == "/") continue;
            if (p == loc || (p.size() > loc.size() + 1 && p.starts_with(loc) && p[loc.size()] == '/')) {
                std::string rel = "pg_tblspc/" + std::to_string(ts.oid);
                if (p.size() > loc.size()) rel.append(p.substr(loc.size()));
                found = classify_rel(rel);
                break;
            }
        }
    }
    if (!found) found = classify_unknown_tablespace(p);
    if (found) found->deleted = deleted;
    return found;
}

std::string describe(const PgFile& f) {
    std::vector<std::string> notes;
    switch (f.kind) {
        case PgFileKind::Relation:
            if (f.spc_oid == kGlobalTablespaceOid) {
                notes.push_back("global");
            } else {
                if (f.spc_oid != kDefaultTablespaceOid)
                    notes.push_back(f.spc_oid == 0 ? std::string("tablespace ?")
                                                   : "tablespace " + std::to_string(f.spc_oid));
                notes.push_back("db " + std::to_string(f.db_oid));
            }
            notes.push_back("relfilenode " + std::to_string(f.relfilenode));
            if (f.temp) notes.push_back("temp, backend " + std::to_string(f.temp_backend));
            if (f.fork != "main") notes.push_back(f.fork + " fork");
            if (f.segment != 0) notes.push_back("segment " + std::to_string(f.segment));
            break;
        case PgFileKind::Wal: {
            const size_t slash = f.rel.rfind('/');
            const std::string_view name =
                slash == std::string::npos ? std::string_view(f.rel) : std::string_view(f.rel).substr(slash + 1);
            notes.push_back(is_wal_segment_name(name) ? "WAL segment" : "WAL");
            break;
        }
        case PgFileKind::Xact:
            notes.push_back("commit log");
            break;
        case PgFileKind::Other:
            break;
    }
    if (f.deleted) notes.push_back("deleted");

    std::string out = f.rel.empty() ? std::string("data directory") : f.rel;
    if (!notes.empty()) {
        out += " (";
        for (size_t i = 0; i < notes.size(); ++i) {
            if (i) out += ", ";
            out += notes[i];
        }
        out += ")";
    }
    return out;
}

std::optional<std::string> fd_path(int pid, int fd) {
    if (fd < 0) return std::nullopt;
    return read_proc_link(pid, "fd/" + std::to_string(fd));
}

}  // namespace pgstall::model
