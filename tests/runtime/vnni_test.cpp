// The u8 x s8 dot product that int8 inference (issue 33) will build on: which Halide 14 spelling
// reaches AVX-512 VNNI's vpdpbusd (64 multiply-adds an instruction, 4x an fp32 FMA's), shown by the
// assembly. Found 2026-12-08:
//   - an update f(x) += i32(a_u8(4x + r)) * i32(b_s8(4x + r)) over RDom r(0, 4), scheduled
//     atomic().vectorize(r).vectorize(x, 16), becomes vector_reduce(Add, i32(widening_mul(u8x64,
//     s8x64))), which Halide 14 selects as its dpbusdx16 wrapper;
//   - that wrapper lives in Halide's x86_avx512 runtime module, which is linked only when the target
//     names the plain `avx512` feature: with avx512_skylake-avx512_cannonlake-avx512_sapphirerapids
//     alone the object calls an undefined dpbusdx16;
//   - an inline sum() of the same products (Halide's own test form), or the update without atomic
//     vectorization of r, never forms the 4-way reduction: LLVM makes vpdpwssd (s16 pairs) of it.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <Halide.h>

namespace {

// f(x) = sum over k < 4 of a(4x + k) * b(4x + k), a unsigned and b signed bytes, in int32.
Halide::Func dot_products(const Halide::ImageParam& a, const Halide::ImageParam& b, bool as_update) {
    Halide::Var x("x");
    Halide::RDom r(0, 4, "r");
    Halide::Func f("f");
    Halide::Expr product = Halide::cast<std::int32_t>(a(4 * x + r)) * Halide::cast<std::int32_t>(b(4 * x + r));
    if (as_update) {
        f(x) = 0;
        f(x) += product;
        f.update().atomic().vectorize(r).vectorize(x, 16);
    } else {
        f(x) = Halide::sum(product);
        f.vectorize(x, 16);
    }
    return f;
}

std::string assembly(Halide::Func f, const std::vector<Halide::Argument>& arguments, const Halide::Target& target) {
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("snc-vnni-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()) + ".s");
    f.compile_to_assembly(path.string(), arguments, "dot_products", target);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    std::filesystem::remove(path);
    return text.str();
}

int count(const std::string& text, const std::string& word) {
    int n = 0;
    for (std::size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("Halide 14 reaches vpdpbusd for u8 x s8 dot products: the update form, on a target that names avx512") {
    Halide::ImageParam a(Halide::UInt(8), 1, "a"), b(Halide::Int(8), 1, "b");
    const Halide::Target vnni("x86-64-linux-avx512-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids-no_runtime");
    const Halide::Target without_avx512("x86-64-linux-avx512_skylake-avx512_cannonlake-avx512_sapphirerapids-no_runtime");

    const std::string update = assembly(dot_products(a, b, true), {a, b}, vnni);
    CHECK(count(update, "vpdpbusd") > 0);
    CHECK(count(update, "dpbusdx16@PLT") == 0);

    // Without the plain feature: the wrapper is called, and nothing defines it.
    CHECK(count(assembly(dot_products(a, b, true), {a, b}, without_avx512), "dpbusdx16@PLT") > 0);
    // The inline sum: s16 pairs, half the work an instruction.
    const std::string inline_sum = assembly(dot_products(a, b, false), {a, b}, vnni);
    CHECK(count(inline_sum, "vpdpbusd") == 0);
    CHECK(count(inline_sum, "vpdpwssd") > 0);

    // Run where the CPU has VNNI (this project's build machines do): exact int32 sums.
    if (__builtin_cpu_supports("avx512vnni")) {
        const int n = 4096;
        Halide::Buffer<std::uint8_t> a_values(4 * n);
        Halide::Buffer<std::int8_t> b_values(4 * n);
        std::mt19937 random(1);
        for (int i = 0; i < 4 * n; ++i) a_values(i) = std::uint8_t(random()), b_values(i) = std::int8_t(random());
        a.set(a_values);
        b.set(b_values);
        Halide::Buffer<std::int32_t> sums = dot_products(a, b, true).realize({n}, vnni.without_feature(Halide::Target::NoRuntime));
        int wrong = 0;
        for (int i = 0; i < n; ++i) {
            int expected = 0;
            for (int k = 0; k < 4; ++k) expected += int(a_values(4 * i + k)) * int(b_values(4 * i + k));
            wrong += sums(i) != expected;
        }
        CHECK(wrong == 0);
    } else {
        MESSAGE("this CPU has no avx512_vnni: the assembly checked, not run");
    }
}
