// The convolutions of the GPU benchmark's networks, for the cuDNN reference (bench/cudnn_convs.cu):
// one line a conv, from snc's own graph of each network, so both time the same layers.
//   conv_shapes > convs.txt
// Each line: network batch C H W K kernel stride pad_top pad_left pad_bottom pad_right out_H out_W
// epilogue, where the epilogue is what the conv feeds before the next conv: relu, add (a residual
// join, as its body or as its shortcut: snc fuses the join into one of the two), add_relu, none.
#include <cstdio>
#include <string>

#include <snc/graph.hpp>
#include <snc/nets/d2l.hpp>
#include <snc/nets/torchvision.hpp>

namespace {

template <class Net>
void print_convs(const char* network) {
    const snc::Graph graph = snc::build_graph<Net>();
    for (std::size_t i = 0; i < graph.ops.size(); ++i) {
        const snc::Op& op = graph.ops[i];
        if (op.spec.kind != snc::OpKind::conv) continue;
        // What follows it: its batch norm (folded into it), then the residual join it feeds and a
        // ReLU, or a ReLU alone.
        auto reader = [&](int value) -> int {  // the op that reads `value`, if one does
            for (std::size_t k = 0; k < graph.ops.size(); ++k)
                for (int read : graph.ops[k].inputs())
                    if (read == value) return int(k);
            return -1;
        };
        int value = int(i) + 1, next = reader(value);
        if (next >= 0 && graph.ops[std::size_t(next)].spec.kind == snc::OpKind::batch_norm) value = next + 1, next = reader(value);
        std::string epilogue = "none";
        if (next >= 0 && graph.ops[std::size_t(next)].spec.kind == snc::OpKind::add) {
            epilogue = "add";
            value = next + 1, next = reader(value);
        }
        if (next >= 0 && graph.ops[std::size_t(next)].spec.kind == snc::OpKind::relu) epilogue = epilogue == "add" ? "add_relu" : "relu";
        const snc::Window w = op.spec.window;
        std::printf("%s %lld %lld %lld %lld %lld %d %d %d %d %d %d %lld %lld %s\n", network, (long long)op.in.n(), (long long)op.in.c(),
                    (long long)op.in.h(), (long long)op.in.w(), (long long)op.out.c(), w.kernel, w.stride, w.pad_top, w.pad_left,
                    w.pad_bottom, w.pad_right, (long long)op.out.h(), (long long)op.out.w(), epilogue.c_str());
    }
}

}  // namespace

int main() {
    print_convs<snc::nets::torchvision::ResNet18<1>>("torchvision-resnet18-b1");
    print_convs<snc::nets::torchvision::ResNet18<64>>("torchvision-resnet18-b64");
    print_convs<snc::nets::d2l::ResNet18<64>>("course-resnet18-b64");
    print_convs<snc::nets::d2l::ResNet18<128>>("course-resnet18-b128");
    return 0;
}
