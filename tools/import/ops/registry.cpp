// Every ONNX op snc-import reads, one line each: adding one is a converter in its family's file
// and a line here.
#include <map>

#include "ops.hpp"

namespace snc::onnx_import {

const Converter* converter_for(const std::string& op) {
    static const std::map<std::string, Converter> converters{
        {"Conv", ops::conv},
        {"Pad", ops::pad},
        {"MaxPool", ops::pool},
        {"AveragePool", ops::pool},
        {"GlobalAveragePool", ops::global_average_pool},
        {"ReduceMean", ops::reduce_mean},
        {"Relu", ops::activation},
        {"Sigmoid", ops::activation},
        {"Tanh", ops::activation},
        {"HardSigmoid", ops::activation},
        {"HardSwish", ops::activation},
        {"LeakyRelu", ops::activation},
        {"Gelu", ops::activation},
        {"Clip", ops::clip},
        {"snc.SiLU", ops::activation},       // patterns/gated_activation.cpp
        {"snc.HardSwish", ops::activation},  // patterns/gated_activation.cpp
        {"snc.GELU", ops::activation},       // patterns/gelu.cpp
        {"BatchNormalization", ops::batch_norm},
        {"LayerNormalization", ops::layer_norm},
        {"snc.LayerNorm", ops::layer_norm},  // patterns/layer_norm.cpp
        {"Mul", ops::layer_scale},           // by a constant; of two branches, a join (below)
        {"Gemm", ops::gemm},
        {"MatMul", ops::matmul},
        {"Identity", ops::pass},
        {"Concat", ops::pass},  // of one value; of several, a join (below)
        {"Dropout", ops::dropout},
        {"Flatten", ops::flatten},
        {"Squeeze", ops::flatten},
        {"Reshape", ops::reshape},
        {"Transpose", ops::transpose},
        {"Slice", ops::slice},
        {"snc.SplitPart", ops::split_part},  // patterns/split.cpp
    };
    auto found = converters.find(op);
    return found == converters.end() ? nullptr : &found->second;
}

const Joiner* joiner_for(const std::string& op) {
    static const std::map<std::string, Joiner> joiners{
        {"Add", ops::residual},
        {"Concat", ops::concat},
        {"Mul", ops::gate},
    };
    auto found = joiners.find(op);
    return found == joiners.end() ? nullptr : &found->second;
}

}  // namespace snc::onnx_import
