// The `homeostat` command as a user runs it: against a real daemon, finding it through the
// data directory, with the documented exit codes.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "support/cli_run.hpp"
#include "support/daemon_process.hpp"

namespace homeostat::testing {
namespace {

// Runs the homeostat binary with `args`, feeding it `stdin_file` when one is given.
CliRun run(const std::string& args, const std::string& stdin_file = "") {
  return run_homeostat(stdin_file.empty() ? args : args + " < " + stdin_file);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<DaemonProcess>(DaemonOptions{.data_dir = data()});
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
  }
  std::string data() const { return dir_.path() + "/data"; }

  TempDir dir_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(Cli, PutsAnEventFromFlagsAndGetsItBack) {
  const CliRun put = run("events put --data " + data() +
                         " --source com.example --detail-type Ping --detail '{\"n\":1}'"
                         " --resource host-1 --id cli-1");
  ASSERT_EQ(put.code, 0);
  EXPECT_EQ(put.out, "cli-1\n");
  const CliRun get = run("events get cli-1 --data " + data());
  EXPECT_EQ(get.code, 0);
  EXPECT_NE(get.out.find("\"resources\":[\"host-1\"]"), std::string::npos) << get.out;
}

TEST_F(Cli, PutsNdjsonFromStdinAndReportsBadLinesWithExitOne) {
  const std::string file = dir_.path() + "/events.ndjson";
  std::ofstream(file) << R"({"id":"l1","source":"s","detail-type":"t","detail":{}})"
                         "\n"
                      << "{broken\n"
                      << R"({"id":"l2","source":"s","detail-type":"t","detail":{}})"
                         "\n";
  const CliRun put = run("events put --data " + data(), file);
  EXPECT_EQ(put.code, 1);
  EXPECT_EQ(put.out, "l1\nl2\n");
}

TEST_F(Cli, PointsAtTheInputLineOfABadNdjsonEntry) {
  const std::string file = dir_.path() + "/events.ndjson";
  std::ofstream(file) << "\n"
                      << R"({"source":"s","detail-type":"t","detail":{}})"
                         "\n"
                      << R"({"source":"s","detail-type":"t","detail":"text"})"
                         "\n";
  const CliRun put = run("events put --data " + data() + " --file " + file + " 2>&1 >/dev/null");
  EXPECT_EQ(put.code, 1);
  EXPECT_NE(put.out.find("line 3: WrongType: \"detail\" must be an object"), std::string::npos)
      << put.out;
}

TEST_F(Cli, ListsEventsAsNdjsonFollowingCursorsWithAll) {
  std::string body = "[";
  for (int i = 0; i < 30; ++i) {
    body += (i ? "," : "") + std::string(R"({"source":"s","detail-type":"t","detail":{}})");
  }
  body += "]";
  const std::string file = dir_.path() + "/batch.json";
  std::ofstream(file) << body;
  ASSERT_EQ(run("events put --data " + data() + " --file " + file).code, 0);

  const CliRun all = run("events list --all --limit 7 --data " + data());
  EXPECT_EQ(all.code, 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 30);
  const CliRun page = run("events list --limit 7 --data " + data() + " 2>/dev/null");
  EXPECT_EQ(std::count(page.out.begin(), page.out.end(), '\n'), 7);
}

TEST_F(Cli, ExitsFourForABadTokenAndThreeWhenTheDaemonIsGone) {
  EXPECT_EQ(run("events list --data " + data() + " --token hst_wrong 2>/dev/null").code, 4);
  EXPECT_EQ(run("events get nothing-here --data " + data() + " 2>/dev/null").code, 1);
  daemon_->terminate();
  EXPECT_EQ(run("events list --server http://127.0.0.1:1 --data " + data() + " 2>/dev/null").code,
            3);
}

TEST_F(Cli, ExitsTwoOnAUsageError) {
  EXPECT_EQ(run("events list --limit 0 2>/dev/null").code, 2);
  EXPECT_EQ(run("no-such-command 2>/dev/null").code, 2);
  EXPECT_EQ(run("events put --data " + data() + " --source s 2>/dev/null").code, 2);
  EXPECT_EQ(
      run("events put --data " + data() + " --source s --detail-type t --detail '[' 2>/dev/null")
          .code,
      2);
}

TEST_F(Cli, ManagesTokens) {
  const CliRun made = run("tokens create --name reader --role viewer --data " + data());
  ASSERT_EQ(made.code, 0);
  const std::string token = made.out.substr(0, made.out.size() - 1);
  EXPECT_EQ(token.rfind("hst_", 0), 0u);
  EXPECT_EQ(run("events list --token " + token + " --data " + data()).code, 0);
  EXPECT_EQ(run("events put --token " + token + " --data " + data() +
                " --source s --detail-type t 2>/dev/null")
                .code,
            4);
  const CliRun listed = run("tokens list --data " + data());
  EXPECT_NE(listed.out.find("reader\tviewer"), std::string::npos);
  EXPECT_EQ(run("tokens revoke reader --data " + data()).code, 0);
  EXPECT_EQ(run("events list --token " + token + " --data " + data() + " 2>/dev/null").code, 4);
}

TEST(CliWithoutDaemon, PrintsItsVersionAndHelp) {
  const CliRun v = run("version");
  EXPECT_EQ(v.code, 0);
  EXPECT_EQ(v.out.rfind("homeostat ", 0), 0u);
  const CliRun h = run("events put --help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("--detail-type"), std::string::npos);
}

}  // namespace
}  // namespace homeostat::testing
