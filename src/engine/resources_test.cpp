#include "engine/resources.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "states/errors.hpp"

namespace homeostat::engine {
namespace {

namespace json = boost::json;

// Answers every attempt at once with its own name, so a test can tell which runner ran.
class NamedRunner final : public TaskRunner {
 public:
  explicit NamedRunner(std::string name) : name_(std::move(name)) {}
  void invoke(const TaskRequest& /*request*/, TaskCallback done) override {
    done(json::value(name_));
  }

 private:
  std::string name_;
};

std::shared_ptr<TaskRunner> named(std::string name) {
  return std::make_shared<NamedRunner>(std::move(name));
}

// Runs `resource` on the registry and returns the outcome, which these runners give at once.
TaskOutcome run(ResourceRegistry& registry, std::string resource) {
  TaskRequest request;
  request.execution_id = "exec-1";
  request.state_name = "Fetch";
  request.resource = std::move(resource);
  std::optional<TaskOutcome> outcome;
  registry.invoke(request, [&](TaskOutcome result) { outcome = std::move(result); });
  EXPECT_TRUE(outcome.has_value()) << "the runner did not answer at once";
  return outcome.value_or(states::StatesError{"none", "none"});
}

// The name of the runner that answered, or "error: <name>: <cause>".
std::string answer(ResourceRegistry& registry, std::string resource) {
  TaskOutcome outcome = run(registry, std::move(resource));
  if (const auto* error = std::get_if<states::StatesError>(&outcome)) {
    return "error: " + error->error + ": " + error->cause;
  }
  return std::string(std::get<json::value>(outcome).as_string());
}

TEST(ResourceRegistry, FindsAnExactName) {
  ResourceRegistry registry;
  registry.add("test:echo", named("echo"));
  EXPECT_EQ(answer(registry, "test:echo"), "echo");
  EXPECT_TRUE(registry.contains("test:echo"));
  EXPECT_FALSE(registry.contains("test:echo2"));
  EXPECT_FALSE(registry.contains("test:ech"));
}

TEST(ResourceRegistry, ExactNameWinsOverPrefix) {
  ResourceRegistry registry;
  registry.add("test:*", named("prefix"));
  registry.add("test:echo", named("exact"));
  EXPECT_EQ(answer(registry, "test:echo"), "exact");
  EXPECT_EQ(answer(registry, "test:other"), "prefix");
}

TEST(ResourceRegistry, LongestPrefixWins) {
  ResourceRegistry registry;
  registry.add("arn:*", named("short"));
  registry.add("arn:aws:lambda:*", named("long"));
  registry.add("arn:aws:*", named("middle"));
  EXPECT_EQ(answer(registry, "arn:aws:lambda:invoke"), "long");
  EXPECT_EQ(answer(registry, "arn:aws:sqs:send"), "middle");
  EXPECT_EQ(answer(registry, "arn:gcp"), "short");
  EXPECT_EQ(answer(registry, "arn:"), "short");  // a prefix matches the bare prefix itself
}

TEST(ResourceRegistry, BareStarMatchesEveryResource) {
  ResourceRegistry registry;
  registry.add("*", named("all"));
  registry.add("test:*", named("test"));
  EXPECT_EQ(answer(registry, "anything"), "all");
  EXPECT_EQ(answer(registry, ""), "all");
  EXPECT_EQ(answer(registry, "test:x"), "test");
}

TEST(ResourceRegistry, StarOnlyMeansPrefixAtTheEnd) {
  ResourceRegistry registry;
  registry.add("te*t:echo", named("literal"));
  EXPECT_EQ(answer(registry, "te*t:echo"), "literal");
  EXPECT_FALSE(registry.contains("test:echo"));
}

TEST(ResourceRegistry, LaterAddReplacesTheRunner) {
  ResourceRegistry registry;
  registry.add("test:echo", named("first"));
  registry.add("test:echo", named("second"));
  registry.add("test:*", named("first prefix"));
  registry.add("test:*", named("second prefix"));
  EXPECT_EQ(answer(registry, "test:echo"), "second");
  EXPECT_EQ(answer(registry, "test:x"), "second prefix");
}

TEST(ResourceRegistry, UnknownResourceFailsTheAttemptNamingIt) {
  ResourceRegistry registry;
  registry.add("test:*", named("test"));
  TaskOutcome outcome = run(registry, "arn:aws:states:::lambda:invoke");
  const auto* error = std::get_if<states::StatesError>(&outcome);
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->error, states::kTaskFailed);
  EXPECT_EQ(error->cause, R"(no task resource is registered for "arn:aws:states:::lambda:invoke")");
  EXPECT_EQ(registry.find("arn:aws:states:::lambda:invoke"), nullptr);
}

TEST(ResourceRegistry, RunnerMayCallBackIntoTheRegistry) {
  // The callback re-enters the registry; a lock held across invoke() would deadlock here.
  ResourceRegistry registry;
  registry.add("test:echo", named("echo"));
  std::string inner;
  TaskRequest request;
  request.resource = "test:echo";
  registry.invoke(request, [&](const TaskOutcome& /*outcome*/) {
    registry.add("test:late", named("late"));
    inner = answer(registry, "test:late");
  });
  EXPECT_EQ(inner, "late");
}

TEST(ResourceRegistry, ConcurrentAddsAndInvokesAreSafe) {
  ResourceRegistry registry;
  registry.add("test:*", named("prefix"));
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::atomic<int> answered{0};
  std::atomic<int> wrong{0};

  // Two threads register names while two others look names up and run them; every run must
  // reach either the prefix runner or the exact one registered for that name.
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string name = "test:r" + std::to_string(i % 50);
        if (t % 2 == 0) {
          registry.add(name, named(name));
          continue;
        }
        TaskRequest request;
        request.resource = name;
        registry.invoke(request, [&](const TaskOutcome& outcome) {
          const auto* value = std::get_if<json::value>(&outcome);
          if (value == nullptr || (value->as_string() != name && value->as_string() != "prefix")) {
            ++wrong;
          }
          ++answered;
        });
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();

  EXPECT_EQ(answered.load(), kRounds * kThreads / 2);
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(answer(registry, "test:r7"), "test:r7");
}

}  // namespace
}  // namespace homeostat::engine
