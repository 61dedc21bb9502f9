// Progress: a bar redrawn in place on a terminal, one line per stage otherwise, nothing quiet.
#include "core/progress.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace gammaq {
namespace {

std::string run_stage(const char* style, bool quiet) {
  setenv("GAMMAQ_PROGRESS", style, 1);
  testing::internal::CaptureStderr();
  {
    Progress p("calibrate", 10, quiet, "items");
    p.update(5, "layer x");
    p.update(10);
    p.finish("done");
  }
  unsetenv("GAMMAQ_PROGRESS");
  return testing::internal::GetCapturedStderr();
}

TEST(Progress, BarLinesAndQuiet) {
  const std::string bar = run_stage("bar", false);
  EXPECT_EQ(bar.rfind("\rcalibrate [############............]  50% 5/10 ", 0), 0u) << bar;
  EXPECT_NE(bar.find("items/s ETA "), std::string::npos) << bar;
  EXPECT_NE(bar.find("layer x"), std::string::npos) << bar;
  EXPECT_NE(bar.find("100% 10/10"), std::string::npos) << bar;
  EXPECT_EQ(bar.back(), '\n');
  EXPECT_EQ(std::count(bar.begin(), bar.end(), '\n'), 1);

  const std::string lines = run_stage("lines", false);
  EXPECT_EQ(lines.rfind("calibrate: 10/10 items in ", 0), 0u) << lines;
  EXPECT_NE(lines.find("items/s); done\n"), std::string::npos) << lines;
  EXPECT_EQ(std::count(lines.begin(), lines.end(), '\n'), 1);
  EXPECT_EQ(lines.find('\r'), std::string::npos);

  EXPECT_EQ(run_stage("bar", true), "");
  EXPECT_EQ(run_stage("none", false), "");
}

TEST(Progress, FinishesOnceAndShortDurations) {
  setenv("GAMMAQ_PROGRESS", "lines", 1);
  testing::internal::CaptureStderr();
  {
    Progress p("pass", 3, false);
    p.update(3);
    p.finish();
  }                                        // the destructor does not print a second line
  { Progress q("unfinished", 2, false); }  // ... but ends a stage its caller did not
  unsetenv("GAMMAQ_PROGRESS");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_NE(out.find("unfinished: 0/2 images"), std::string::npos) << out;
  EXPECT_EQ(Progress::duration(5.25), "5.2s");
  EXPECT_EQ(Progress::duration(65), "1:05");
  EXPECT_EQ(Progress::duration(3725), "1:02:05");
  EXPECT_EQ(Progress::duration(-1), "?");
}

}  // namespace
}  // namespace gammaq
