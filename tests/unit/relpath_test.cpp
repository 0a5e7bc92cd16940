#include "model/relpath.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace pgstall::model {
namespace {

constexpr std::string_view kData = "/var/lib/postgresql/15/main";

PgFile must_classify(std::string_view path, std::string_view data_dir = kData,
                     std::span<const Tablespace> ts = {}) {
    auto f = classify_path(path, data_dir, ts);
    EXPECT_TRUE(f.has_value()) << path;
    return f.value_or(PgFile{});
}

TEST(Relpath, MainForkInDefaultTablespace) {
    const auto f = must_classify("/var/lib/postgresql/15/main/base/16384/2619");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.spc_oid, 1663u);
    EXPECT_EQ(f.db_oid, 16384u);
    EXPECT_EQ(f.relfilenode, 2619u);
    EXPECT_EQ(f.fork, "main");
    EXPECT_EQ(f.segment, 0u);
    EXPECT_FALSE(f.temp);
    EXPECT_FALSE(f.deleted);
    EXPECT_EQ(f.rel, "base/16384/2619");
    EXPECT_EQ(describe(f), "base/16384/2619 (db 16384, relfilenode 2619)");
}

TEST(Relpath, ForksAndSegments) {
    auto f = must_classify("/var/lib/postgresql/15/main/base/16384/2619_fsm.1");
    EXPECT_EQ(f.relfilenode, 2619u);
    EXPECT_EQ(f.fork, "fsm");
    EXPECT_EQ(f.segment, 1u);
    EXPECT_EQ(describe(f), "base/16384/2619_fsm.1 (db 16384, relfilenode 2619, fsm fork, segment 1)");

    f = must_classify("/var/lib/postgresql/15/main/base/16384/16400_vm");
    EXPECT_EQ(f.fork, "vm");
    EXPECT_EQ(f.segment, 0u);

    f = must_classify("/var/lib/postgresql/15/main/base/16384/16400_init");
    EXPECT_EQ(f.fork, "init");

    f = must_classify("/var/lib/postgresql/15/main/base/16384/16400.37");
    EXPECT_EQ(f.fork, "main");
    EXPECT_EQ(f.segment, 37u);
    EXPECT_EQ(describe(f), "base/16384/16400.37 (db 16384, relfilenode 16400, segment 37)");

    f = must_classify("/var/lib/postgresql/15/main/base/16384/4294967295.4294967295");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.relfilenode, 4294967295u);
    EXPECT_EQ(f.segment, 4294967295u);
}

TEST(Relpath, SharedCatalogs) {
    auto f = must_classify("/var/lib/postgresql/15/main/global/1262");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.spc_oid, 1664u);
    EXPECT_EQ(f.db_oid, 0u);
    EXPECT_EQ(f.relfilenode, 1262u);
    EXPECT_EQ(describe(f), "global/1262 (global, relfilenode 1262)");

    for (const char* name : {"pg_control", "pg_filenode.map", "pg_internal.init", "t3_1262"}) {
        f = must_classify(std::string(kData) + "/global/" + name);
        EXPECT_EQ(f.kind, PgFileKind::Other) << name;
        EXPECT_EQ(f.rel, std::string("global/") + name);
        EXPECT_EQ(describe(f), std::string("global/") + name);
    }
}

TEST(Relpath, TempRelations) {
    auto f = must_classify("/var/lib/postgresql/15/main/base/16384/t3_16400");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_TRUE(f.temp);
    EXPECT_EQ(f.temp_backend, 3u);
    EXPECT_EQ(f.relfilenode, 16400u);
    EXPECT_EQ(describe(f), "base/16384/t3_16400 (db 16384, relfilenode 16400, temp, backend 3)");

    f = must_classify("/var/lib/postgresql/15/main/base/16384/t12_16400_fsm.2");
    EXPECT_TRUE(f.temp);
    EXPECT_EQ(f.temp_backend, 12u);
    EXPECT_EQ(f.fork, "fsm");
    EXPECT_EQ(f.segment, 2u);
}

TEST(Relpath, WalAndXact) {
    auto f = must_classify("/var/lib/postgresql/15/main/pg_wal/000000010000000000000003");
    EXPECT_EQ(f.kind, PgFileKind::Wal);
    EXPECT_EQ(f.rel, "pg_wal/000000010000000000000003");
    EXPECT_EQ(describe(f), "pg_wal/000000010000000000000003 (WAL segment)");

    f = must_classify("/var/lib/postgresql/15/main/pg_wal/00000002.history");
    EXPECT_EQ(f.kind, PgFileKind::Wal);
    EXPECT_EQ(describe(f), "pg_wal/00000002.history (WAL)");

    f = must_classify("/var/lib/postgresql/15/main/pg_wal/xlogtemp.4242");
    EXPECT_EQ(f.kind, PgFileKind::Wal);

    f = must_classify("/var/lib/postgresql/15/main/pg_wal/archive_status/000000010000000000000003.ready");
    EXPECT_EQ(f.kind, PgFileKind::Other);

    f = must_classify("/var/lib/postgresql/15/main/pg_xact/0000");
    EXPECT_EQ(f.kind, PgFileKind::Xact);
    EXPECT_EQ(describe(f), "pg_xact/0000 (commit log)");

    f = must_classify("/var/lib/postgresql/15/main/pg_multixact/offsets/0000");
    EXPECT_EQ(f.kind, PgFileKind::Other);
    EXPECT_EQ(describe(f), "pg_multixact/offsets/0000");
}

TEST(Relpath, OtherFilesInsideTheDataDir) {
    for (const char* rel : {"base/16384/pg_filenode.map", "base/16384/PG_VERSION", "base/pgsql_tmp/pgsql_tmp4242.0",
                            "postmaster.pid", "pg_stat_tmp/global.stat", "pg_logical/replorigin_checkpoint",
                            "base/16384"}) {
        const auto f = must_classify(std::string(kData) + "/" + rel);
        EXPECT_EQ(f.kind, PgFileKind::Other) << rel;
        EXPECT_EQ(f.rel, rel);
        EXPECT_EQ(f.relfilenode, 0u) << rel;
    }
}

TEST(Relpath, MalformedRelationNamesAreOther) {
    for (const char* name : {"abc", "16400_foo", "16400_main", "16400.0", "016400", "0", "16400.", "16400_",
                             "16400.x", "99999999999", "16400.1.2", "t_16400", "tx_16400", "t3", "t3_", "-1",
                             "+16400", " 16400", "16400 "}) {
        const auto f = must_classify(std::string(kData) + "/base/16384/" + name);
        EXPECT_EQ(f.kind, PgFileKind::Other) << name;
    }
    // The database directory must be an oid too.
    EXPECT_EQ(must_classify(std::string(kData) + "/base/0/16400").kind, PgFileKind::Other);
    EXPECT_EQ(must_classify(std::string(kData) + "/base/shop/16400").kind, PgFileKind::Other);
    EXPECT_EQ(must_classify(std::string(kData) + "/base/16384/16400/x").kind, PgFileKind::Other);
}

TEST(Relpath, OutsideTheDataDir) {
    EXPECT_FALSE(classify_path("/etc/passwd", kData));
    EXPECT_FALSE(classify_path("/var/lib/postgresql/15/main2/base/16384/2619", kData));  // sibling dir
    EXPECT_FALSE(classify_path("/var/lib/postgresql/15", kData));
    EXPECT_FALSE(classify_path("socket:[12345]", kData));
    EXPECT_FALSE(classify_path("pipe:[7492]", kData));
    EXPECT_FALSE(classify_path("anon_inode:[eventpoll]", kData));
    EXPECT_FALSE(classify_path("base/16384/2619", kData));  // relative
    EXPECT_FALSE(classify_path("", kData));
    EXPECT_FALSE(classify_path("/var/lib/postgresql/15/main/base/16384/2619", ""));
    EXPECT_FALSE(classify_path("/var/lib/postgresql/15/main/base/16384/2619", "/"));
}

TEST(Relpath, DataDirSpellings) {
    const auto f = must_classify("/var/lib/postgresql/15/main/base/16384/2619", "/var/lib/postgresql/15/main///");
    EXPECT_EQ(f.rel, "base/16384/2619");

    const auto self = must_classify("/var/lib/postgresql/15/main", kData);
    EXPECT_EQ(self.kind, PgFileKind::Other);
    EXPECT_EQ(self.rel, "");
    EXPECT_EQ(describe(self), "data directory");
}

TEST(Relpath, DeletedSuffix) {
    auto f = must_classify("/var/lib/postgresql/15/main/base/16384/16400.2 (deleted)");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_TRUE(f.deleted);
    EXPECT_EQ(f.relfilenode, 16400u);
    EXPECT_EQ(f.segment, 2u);
    EXPECT_EQ(describe(f), "base/16384/16400.2 (db 16384, relfilenode 16400, segment 2, deleted)");

    f = must_classify("/var/lib/postgresql/15/main/base/pgsql_tmp/pgsql_tmp77.3 (deleted)");
    EXPECT_EQ(f.kind, PgFileKind::Other);
    EXPECT_EQ(describe(f), "base/pgsql_tmp/pgsql_tmp77.3 (deleted)");
}

TEST(Relpath, TablespaceInsideDataDirPath) {
    const auto f = must_classify("/var/lib/postgresql/15/main/pg_tblspc/16500/PG_15_202209061/16384/16400_vm.1");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.spc_oid, 16500u);
    EXPECT_EQ(f.db_oid, 16384u);
    EXPECT_EQ(f.relfilenode, 16400u);
    EXPECT_EQ(f.fork, "vm");
    EXPECT_EQ(f.segment, 1u);
    EXPECT_EQ(describe(f),
              "pg_tblspc/16500/PG_15_202209061/16384/16400_vm.1 "
              "(tablespace 16500, db 16384, relfilenode 16400, vm fork, segment 1)");

    // Not a version directory / not an oid: other.
    EXPECT_EQ(must_classify(std::string(kData) + "/pg_tblspc/16500/PG15/16384/16400").kind, PgFileKind::Other);
    EXPECT_EQ(must_classify(std::string(kData) + "/pg_tblspc/x/PG_15_202209061/16384/16400").kind,
              PgFileKind::Other);
}

TEST(Relpath, ResolvedTablespaceWithMap) {
    const std::vector<Tablespace> ts{{16500, "/mnt/fast"}, {16501, "/mnt/slow/"}};
    auto f = must_classify("/mnt/fast/PG_17_202406281/16384/16400", kData, ts);
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.spc_oid, 16500u);
    EXPECT_EQ(f.db_oid, 16384u);
    EXPECT_EQ(f.rel, "pg_tblspc/16500/PG_17_202406281/16384/16400");

    f = must_classify("/mnt/slow/PG_17_202406281/16384/t5_16401", kData, ts);
    EXPECT_EQ(f.spc_oid, 16501u);
    EXPECT_TRUE(f.temp);

    // Inside a tablespace but not a relation file.
    f = must_classify("/mnt/fast/PG_17_202406281/pgsql_tmp/pgsql_tmp9.0", kData, ts);
    EXPECT_EQ(f.kind, PgFileKind::Other);
    EXPECT_EQ(f.rel, "pg_tblspc/16500/PG_17_202406281/pgsql_tmp/pgsql_tmp9.0");

    // Prefix of a location is not inside it.
    EXPECT_FALSE(classify_path("/mnt/fastest/foo", kData, ts));
}

TEST(Relpath, ResolvedTablespaceWithoutMap) {
    const auto f = must_classify("/srv/ts1/PG_15_202209061/16384/16400.3");
    EXPECT_EQ(f.kind, PgFileKind::Relation);
    EXPECT_EQ(f.spc_oid, 0u);
    EXPECT_EQ(f.db_oid, 16384u);
    EXPECT_EQ(f.relfilenode, 16400u);
    EXPECT_EQ(f.segment, 3u);
    EXPECT_EQ(f.rel, "/srv/ts1/PG_15_202209061/16384/16400.3");
    EXPECT_EQ(describe(f),
              "/srv/ts1/PG_15_202209061/16384/16400.3 (tablespace ?, db 16384, relfilenode 16400, segment 3)");

    // A location that itself contains "/PG_" still works: the match is on the tail.
    const auto g = must_classify("/srv/PG_backup/PG_16_202307071/5/1259");
    EXPECT_EQ(g.kind, PgFileKind::Relation);
    EXPECT_EQ(g.db_oid, 5u);

    EXPECT_FALSE(classify_path("/srv/ts1/PG_15_202209061/16384", kData));
    EXPECT_FALSE(classify_path("/home/u/PG_notes/1/2", kData));
}

TEST(Relpath, DescribeDefaultConstructedAndOddValues) {
    EXPECT_EQ(describe(PgFile{}), "data directory");
    PgFile w;
    w.kind = PgFileKind::Wal;
    w.rel = "000000010000000000000003";  // no directory part
    EXPECT_EQ(describe(w), "000000010000000000000003 (WAL segment)");
}

// --- Against the real filesystem ---

class RelpathFs : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/pgstall-relpath-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        // fd links show resolved paths; /tmp may itself be a symlink.
        root_ = std::filesystem::canonical(tmpl).string();
    }
    void TearDown() override {
        for (int fd : fds_) close(fd);
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    int open_new(const std::string& path) {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        const int fd = open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0) fds_.push_back(fd);
        return fd;
    }
    std::string root_;
    std::vector<int> fds_;
};

TEST_F(RelpathFs, FdPathToRelationEndToEnd) {
    const std::string data = root_ + "/data";
    const int fd = open_new(data + "/base/16384/2619_fsm.1");
    ASSERT_GE(fd, 0);

    const auto link = fd_path(getpid(), fd);
    ASSERT_TRUE(link);
    EXPECT_EQ(*link, data + "/base/16384/2619_fsm.1");
    const auto f = classify_path(*link, data);
    ASSERT_TRUE(f);
    EXPECT_EQ(describe(*f), "base/16384/2619_fsm.1 (db 16384, relfilenode 2619, fsm fork, segment 1)");
}

TEST_F(RelpathFs, UnlinkedFileKeepsDeletedSuffix) {
    const std::string data = root_ + "/data";
    const std::string path = data + "/base/16384/16400";
    const int fd = open_new(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(unlink(path.c_str()), 0);

    const auto link = fd_path(getpid(), fd);
    ASSERT_TRUE(link);
    EXPECT_EQ(*link, path + " (deleted)");
    const auto f = classify_path(*link, data);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->deleted);
    EXPECT_EQ(f->relfilenode, 16400u);
}

TEST_F(RelpathFs, FdPathErrors) {
    EXPECT_FALSE(fd_path(getpid(), -1));
    EXPECT_FALSE(fd_path(0, 0));
    EXPECT_FALSE(fd_path(-5, 0));

    const int fd = open_new(root_ + "/x");
    ASSERT_GE(fd, 0);
    const int closed = dup(fd);
    ASSERT_GE(closed, 0);
    close(closed);
    EXPECT_FALSE(fd_path(getpid(), closed));

    // A pid that cannot exist (above pid_max's hard ceiling).
    EXPECT_FALSE(fd_path(1 << 23 | 1, 0));
}

TEST_F(RelpathFs, FdPathOfNonFiles) {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    fds_.push_back(p[0]);
    fds_.push_back(p[1]);
    const auto link = fd_path(getpid(), p[0]);
    ASSERT_TRUE(link);
    EXPECT_TRUE(link->starts_with("pipe:[")) << *link;
    EXPECT_FALSE(classify_path(*link, root_));
}

TEST_F(RelpathFs, ReadTablespacesFollowsLinks) {
    const std::string data = root_ + "/data";
    const std::string fast = root_ + "/fast";
    std::filesystem::create_directories(data + "/pg_tblspc");
    std::filesystem::create_directories(fast);
    std::filesystem::create_directory_symlink(fast, data + "/pg_tblspc/16500");
    std::filesystem::create_directories(root_ + "/rel");
    std::filesystem::create_directory_symlink("../../rel", data + "/pg_tblspc/16400");  // relative target
    std::filesystem::create_directory_symlink("../../gone", data + "/pg_tblspc/16450");  // dangling
    std::filesystem::create_directories(data + "/pg_tblspc/16600");  // in-place tablespace: a directory
    std::filesystem::create_directory_symlink(fast, data + "/pg_tblspc/notanoid");

    const auto ts = read_tablespaces(data + "/");
    ASSERT_EQ(ts.size(), 3u);
    EXPECT_EQ(ts[0].oid, 16400u);
    EXPECT_EQ(ts[0].location, root_ + "/rel");
    EXPECT_EQ(ts[1].oid, 16450u);
    EXPECT_EQ(ts[1].location, root_ + "/gone");
    EXPECT_EQ(ts[2].oid, 16500u);
    EXPECT_EQ(ts[2].location, fast);

    const int fd = open_new(fast + "/PG_15_202209061/16384/16401");
    ASSERT_GE(fd, 0);
    const auto link = fd_path(getpid(), fd);
    ASSERT_TRUE(link);
    const auto f = classify_path(*link, data, ts);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->spc_oid, 16500u);
    EXPECT_EQ(describe(*f),
              "pg_tblspc/16500/PG_15_202209061/16384/16401 (tablespace 16500, db 16384, relfilenode 16401)");

    EXPECT_TRUE(read_tablespaces(root_ + "/missing").empty());
}

}  // namespace
}  // namespace pgstall::model
