#include "daemon/state_machines.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "engine/test_resources.hpp"
#include "store/memory/execution_store.hpp"
#include "support/temp_dir.hpp"

namespace homeostat::daemon {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGood = R"({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}})";
constexpr const char* kOther = R"({"StartAt": "B", "States": {"B": {"Type": "Succeed"}}})";
constexpr const char* kBadNext = R"({"StartAt": "A", "States": {"A": {"Type": "Pass",
    "Next": "Nowhere"}}})";

class StateMachineCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(files());
    engine::add_test_resources(registry_, {});
    auto engine = engine::Engine::open({.store = &store_, .tasks = &registry_});
    ASSERT_TRUE(engine.ok()) << engine.error().message();
    engine_ = std::move(*engine);
  }

  std::string files() const { return dir_.path() + "/config/state-machines"; }
  std::string data() const { return dir_.path() + "/data"; }
  void write(const std::string& file, const std::string& text) {
    std::ofstream(files() + "/" + file) << text;
  }
  StateMachineCatalog catalog() {
    return StateMachineCatalog(*engine_, dir_.path() + "/config", data());
  }

  testing::TempDir dir_;
  store::memory::MemoryExecutionStore store_;
  engine::ResourceRegistry registry_;
  std::unique_ptr<engine::Engine> engine_;
};

std::vector<std::string> names(const StateMachineCatalog& c) {
  std::vector<std::string> out;
  for (const auto& entry : c.list()) {
    out.push_back(entry.name);
  }
  return out;
}

TEST_F(StateMachineCatalogTest, LoadsEveryMachineFileAndSkipsBadOnes) {
  write("good.asl.json", kGood);
  write("broken.asl.json", kBadNext);
  write(".hidden.asl.json", kGood);
  write("notes.json", kGood);
  auto c = catalog();
  auto skipped = c.load();
  ASSERT_TRUE(skipped.ok()) << skipped.error().message();
  EXPECT_EQ(*skipped, 2u);  // broken (Next) and .hidden (name)
  EXPECT_EQ(names(c), std::vector<std::string>{"good"});
  EXPECT_EQ(c.find("good")->origin, "file:" + files() + "/good.asl.json");
  ASSERT_TRUE(engine_->machine("good").has_value());
  EXPECT_EQ(engine_->machine("good")->first, c.find("good")->hash);
  EXPECT_FALSE(engine_->machine("broken").has_value());
}

TEST_F(StateMachineCatalogTest, KeepsMachinesPutThroughTheApiAcrossARestart) {
  auto first = catalog();
  ASSERT_TRUE(first.load().ok());
  auto hash = first.put("mine", kGood);
  ASSERT_TRUE(hash.ok()) << hash.error().message();
  EXPECT_EQ(first.find("mine")->origin, "api");

  auto bad = first.put("mine", kBadNext);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.error().message().find("States.A.Next"), std::string::npos)
      << bad.error().message();
  EXPECT_EQ(first.find("mine")->hash, *hash);  // the bad one changed nothing
  EXPECT_EQ(first.put("../escape", kGood).error().code(), core::ErrorCode::kInvalidArgument);

  auto second = catalog();
  ASSERT_TRUE(second.load().ok());
  ASSERT_TRUE(second.find("mine").has_value());
  EXPECT_EQ(second.find("mine")->hash, *hash);
}

TEST_F(StateMachineCatalogTest, AFileOwnsItsName) {
  write("owned.asl.json", kGood);
  auto c = catalog();
  ASSERT_TRUE(c.load().ok());
  auto put = c.put("owned", kOther);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code(), core::ErrorCode::kAlreadyExists);
  EXPECT_NE(put.error().message().find("owned.asl.json"), std::string::npos);

  // A file that appears with the name of an API machine replaces it.
  ASSERT_TRUE(c.put("later", kGood).ok());
  write("later.asl.json", kOther);
  ASSERT_TRUE(c.reload_files().ok());
  EXPECT_EQ(c.find("later")->origin, "file:" + files() + "/later.asl.json");
  EXPECT_EQ(engine_->machine("later")->first, c.find("later")->hash);
}

TEST_F(StateMachineCatalogTest, AReloadKeepsTheVersionOfAFileThatWentBadAndDropsAGoneOne) {
  write("stays.asl.json", kGood);
  write("goes.asl.json", kGood);
  auto c = catalog();
  ASSERT_TRUE(c.load().ok());
  const std::string before = c.find("stays")->hash;

  write("stays.asl.json", kBadNext);
  fs::remove(files() + "/goes.asl.json");
  write("new.asl.json", kOther);
  auto skipped = c.reload_files();
  ASSERT_TRUE(skipped.ok());
  EXPECT_EQ(*skipped, 1u);
  EXPECT_EQ(names(c), (std::vector<std::string>{"new", "stays"}));
  EXPECT_EQ(c.find("stays")->hash, before);
  EXPECT_EQ(engine_->machine("stays")->first, before);
}

}  // namespace
}  // namespace homeostat::daemon
