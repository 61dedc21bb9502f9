// quantize_model MODEL.onnx CALIB_SPEC TEST_SPEC OUT_DIR [BITS]
//
// The gammaq library from the outside (docs/library.md): loads a float model, calibrates it
// from images held in memory and from a dataset spec, quantizes it (BITS, default 8),
// evaluates float, simulated and integer inference, checks that the integer engine computes
// what the exact simulation computes, saves and reloads quant.json, and exports C arrays.
// Prints one "key value" line per result on stdout; exits 2 on a gammaq::Error, 1 when a
// check fails.
#include <gammaq/gammaq.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

bool same_formats(const gammaq::QuantizedModel& a, const gammaq::QuantizedModel& b) {
  const auto fa = a.formats(), fb = b.formats();
  if (fa.size() != fb.size()) return false;
  for (size_t i = 0; i < fa.size(); ++i)
    if (fa[i].name != fb[i].name || fa[i].role != fb[i].role || fa[i].bits != fb[i].bits ||
        fa[i].frac != fb[i].frac || fa[i].is_signed != fb[i].is_signed ||
        fa[i].channel_frac != fb[i].channel_frac)
      return false;
  return true;
}

void print_accuracy(const char* what, const gammaq::Accuracy& a) {
  std::printf("%s_top1 %.4f\n%s_top5 %.4f\n%s_images %lld\n%s_tied %lld\n", what, a.top1(), what,
              a.top5(), what, static_cast<long long>(a.images), what,
              static_cast<long long>(a.tied_top1));
}

int run(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::fprintf(stderr, "usage: %s MODEL.onnx CALIB_SPEC TEST_SPEC OUT_DIR [BITS]\n", argv[0]);
    return 2;
  }
  const std::string model_path = argv[1], calib_spec = argv[2], test_spec = argv[3];
  const std::string out = argv[4];
  const int bits = argc == 6 ? std::atoi(argv[5]) : 8;

  const gammaq::Model model = gammaq::Model::load(model_path);
  const gammaq::Shape in = model.input_shape();
  std::printf("model %s\ninput %lldx%lldx%lld\n", model.name().c_str(),
              static_cast<long long>(in[0]), static_cast<long long>(in[1]),
              static_cast<long long>(in[2]));

  // Calibration from arrays in memory: here read from a spec, as an application would fill
  // them from its own pipeline (float32 NCHW, preprocessed as the model expects).
  gammaq::QuantizeConfig config;
  config.method = "ggd";
  config.wbits = bits;
  config.abits = bits;
  gammaq::Batch batch;
  {
    auto source = model.open_data(calib_spec);
    batch = source->read(0, source->size());
  }
  auto in_memory = gammaq::make_array_dataset(std::move(batch.images), std::move(batch.labels));
  const gammaq::QuantizedModel from_arrays = model.quantize(*in_memory, config);
  // The same images through the spec: the same formats.
  auto calib = model.open_data(calib_spec);
  const gammaq::QuantizedModel q = model.quantize(*calib, config);
  std::printf("calibration_images %lld\n", static_cast<long long>(q.calibration_images()));
  std::printf("arrays_equal_spec %d\n", same_formats(from_arrays, q) ? 1 : 0);
  for (const std::string& w : q.warnings()) std::fprintf(stderr, "warning: %s\n", w.c_str());

  int activations = 0, weights = 0, max_bits = 0;
  for (const gammaq::TensorFormat& f : q.formats()) {
    activations += f.role == gammaq::TensorFormat::Role::Activation;
    weights += f.role == gammaq::TensorFormat::Role::Weight;
    if (!f.at_accumulator) max_bits = std::max(max_bits, f.bits);
  }
  std::printf("formats_activations %d\nformats_weights %d\nformats_max_bits %d\n", activations,
              weights, max_bits);

  auto test = model.open_data(test_spec);
  const gammaq::Accuracy fa = model.evaluate(*test);
  const gammaq::Accuracy qa = q.evaluate(*test);
  gammaq::RunOptions exact;
  exact.kernels = gammaq::KernelImpl::Reference;
  const gammaq::Accuracy sa = q.evaluate(*test, exact);
  const gammaq::Accuracy ia = q.evaluate_integer(*test);
  print_accuracy("float", fa);
  print_accuracy("quantized", qa);
  print_accuracy("simulation_exact", sa);
  print_accuracy("integer", ia);

  // Logits of one batch: the integer engine against the exact simulation, value by value.
  const gammaq::Tensor images = test->read(0, std::min<int64_t>(16, test->size())).images;
  const gammaq::Tensor sim = q.infer(images, exact), integer = q.infer_integer(images);
  int64_t differ = 0;
  for (size_t i = 0; i < sim.data.size(); ++i) differ += sim.data[i] != integer.data[i];
  std::printf("logits_compared %zu\nlogits_differing %lld\n", sim.data.size(),
              static_cast<long long>(differ));

  // quant.json (+ model.onnx, summary.json) and back.
  const std::string dir = out + "/quantized";
  q.save(dir, fa, qa);
  const gammaq::QuantizedModel reloaded = gammaq::QuantizedModel::load(model, dir + "/quant.json");
  std::printf("reloaded_equal %d\n", same_formats(reloaded, q) ? 1 : 0);

  const std::string c_dir = out + "/c";
  std::filesystem::remove_all(c_dir);
  reloaded.export_to(gammaq::ExportFormat::C, c_dir);
  int64_t c_bytes = 0;
  for (const auto& e : std::filesystem::directory_iterator(c_dir))
    c_bytes += static_cast<int64_t>(e.file_size());
  std::printf("export_c_bytes %lld\n", static_cast<long long>(c_bytes));

  const bool ok = differ == 0 && ia.top1_correct == sa.top1_correct &&
                  same_formats(from_arrays, q) && same_formats(reloaded, q);
  std::printf("ok %d\n", ok ? 1 : 0);
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const gammaq::Error& e) {
    std::fprintf(stderr, "quantize_model: error: %s\n", e.what());
    return 2;
  }
}
