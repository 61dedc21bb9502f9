// Exports of an integer model (gammaq export DIR --format c|bin -o PATH): what hardware and
// firmware engineers consume. Both describe the same thing, the IntegerProgram the integer
// engine runs: per value its shape and format; per node its operator, geometry, integer
// constants and output stage (per-channel shifts, saturation/activation bounds).
//
//   c    PATH/<model>.h: one C99 header, the layout documented at its top; constants as
//        static const arrays of the narrowest C integer type that holds them.
//   bin  PATH/manifest.json + one raw little-endian file per constant array
//        (weights int8/int16, biases int64, shifts int32), named in the manifest.
//   vectors  PATH/manifest.json + PATH/v<id>.hex per activation: the integer codes the engine
//        computes for the given images (image after image, NCHW), one per line as
//        two's-complement hex of ceil(bits/4) digits ($readmemh); the manifest names each
//        node's input and output files, for RTL testbenches (export_vectors).
//
// Written into PATH.tmp.<pid> and renamed onto PATH at the end: a failure leaves nothing.
#pragma once

#include <string>

#include "engine/integer.h"
#include "quant/plan.h"

namespace gammaq {

// Throws Error(InvalidOption) for an unknown format or a PATH that exists and is not an
// empty folder, Error(Io) naming the path when it cannot be written.
void export_model(const IntegerProgram& p, const quant::QuantPlan& plan, const std::string& format,
                  const std::string& path);
// The vectors format for `images` (preprocessed float NCHW).
void export_vectors(const IntegerProgram& p, const quant::QuantPlan& plan, const Tensor& images,
                    const std::string& path);

}  // namespace gammaq
