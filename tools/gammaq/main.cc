// gammaq: post-training fixed-point quantization for CNNs. Exit codes: 0 ok, 2 bad input,
// 1 internal error.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "common.h"
#include "gammaq/error.h"

int main(int argc, char** argv) {
  CLI::App app("gammaq: post-training fixed-point quantization for CNNs", "gammaq");
  app.require_subcommand(1);
  gammaq::cli::Subcommand run = nullptr;
  gammaq::cli::add_inspect(app, run);
  gammaq::cli::add_eval(app, run);
  gammaq::cli::add_quantize(app, run);
  gammaq::cli::add_run(app, run);
  gammaq::cli::add_export(app, run);
  gammaq::cli::add_sweep(app, run);
  gammaq::cli::add_mixed(app, run);
  gammaq::cli::add_compare(app, run);
  gammaq::cli::add_report(app, run);
  gammaq::cli::add_sensitivity(app, run);
  gammaq::cli::add_profile(app, run);
  gammaq::cli::set_command_line(argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string msg = e.what();
    if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
    std::fprintf(stderr, "gammaq: error: %s (see 'gammaq --help')\n",
                 gammaq::printable(msg).c_str());
    return 2;
  }
  try {
    return run();
  } catch (const gammaq::Error& e) {
    std::fprintf(stderr, "gammaq: error: %s\n", e.what());
    return 2;
  } catch (const gammaq::InternalError& e) {
    std::fprintf(stderr, "gammaq: internal error: %s\n", gammaq::printable(e.what()).c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "gammaq: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gammaq: internal error: %s (please report)\n",
                 gammaq::printable(e.what()).c_str());
    return 1;
  }
}
