// EmbLayerNorm: LayerNorm(word_emb[id] + token_type_emb[type] + pos_emb[position]) per token,
// the three gathers and the sum never going to memory; plus mask -> sequence lengths.
// The normalization is common/layernorm_rows.cuh; this file maps tokens to table rows.
#include "emb_layernorm_kernel.h"

#include "../common/fast_divide.cuh"
#include "../common/layernorm_rows.cuh"

namespace {

// bert::load_raw for table rows, as global loads: where a row pointer comes from (a table row picked
// by an id loaded at run time) hides its address space from the compiler, which then emits generic loads
// (LD, not LDG; __builtin_assume(__isGlobal(p)) did not change that). The tables are read-only while
// the kernel runs, so the read-only path (__ldg) is safe. kKeep (bert::kParameters) is for the
// position and type rows, which every sequence reads again; its loads name the global space too.
// Word rows are activations in all but name (one per token, gathered once): with the L2 prefetch
// switch they get its hint too; otherwise the read-only path alone.
constexpr bert::Cache kWordRows =
    bert::kActivations == bert::Cache::kPrefetch ? bert::Cache::kPrefetch : bert::Cache::kNormal;

template <bert::Cache kCache, int N>
__device__ __forceinline__ void load_table(const float* source, float (&out)[N])
{
    static_assert(kCache != bert::Cache::kStream, "table rows: read-only (__ldg), kept (kKeep) or prefetched");
    if constexpr (N % 4 == 0) {
#pragma unroll
        for (int p = 0; p < N / 4; ++p) {
            float4 pack;
            if constexpr (kCache == bert::Cache::kKeep || kCache == bert::Cache::kPrefetch) {
                const uint4* vector = reinterpret_cast<const uint4*>(source) + p;
                uint4 bits;
                if constexpr (kCache == bert::Cache::kKeep) bits = bert::load_keep(vector);
                else bits = bert::load_prefetch<true>(vector);
                pack = make_float4(__uint_as_float(bits.x), __uint_as_float(bits.y),
                                   __uint_as_float(bits.z), __uint_as_float(bits.w));
            } else {
                pack = __ldg(reinterpret_cast<const float4*>(source) + p);
            }
            out[4 * p] = pack.x, out[4 * p + 1] = pack.y, out[4 * p + 2] = pack.z, out[4 * p + 3] = pack.w;
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) out[i] = __ldg(source + i);
    }
}

// Rows are (sequence b, position s) slots, b < batch, s < seq_len, in that order. Padded: slot ==
// token. Packed: slot (b, s) is token cu_seqlens[b] + s if s < that sequence's length, else a
// padding slot with nothing to write. Launching over slots lets the host size the grid without
// reading cu_seqlens (device memory) and needs no search for a token's sequence.
struct EmbeddingRows {
    const int32_t* input_ids;
    const int32_t* token_type_ids;
    const int32_t* cu_seqlens;  // null: padded
    bert::FastDivisor seq_len;  // slots < 2^31 (the launcher checks)
    const float* word_emb;
    const float* pos_emb;
    const float* type_emb;
    int32_t hidden;
    int32_t vocab;
    int32_t max_pos;
    int32_t type_vocab;

    struct Row {
        const float* word = nullptr;
        const float* position = nullptr;
        const float* type = nullptr;
        bool in_range = false;  // false: an id out of its table (a NaN row) or a padding slot
                                // (out_row < 0); the pointers then at row 0, read and not used
        int64_t out_row = -1;

        template <int N>
        struct Raw {
            float word[N];
            float type[N];
            float position[N];
        };

        // No branch on in_range, here or in combine: a row out of range is row 0 of each table, loaded and
        // then poisoned. With `if (!in_range) return;` here and the NaN row written in a branch of combine,
        // v20's instance kept both paths' values live: 55 registers with its layout fixed, where 38 fit 17
        // blocks an SM (run 27; common/layernorm_rows.cuh, kIdsAheadThreadsPerSm).
        template <int N>
        __device__ void fetch(int col, Raw<N>& raw) const
        {
            // A word row is one token's: read once, like an activation row.
            load_table<kWordRows>(word + col, raw.word);
            load_table<bert::kParameters>(type + col, raw.type);
            load_table<bert::kParameters>(position + col, raw.position);
        }

        template <int N>
        __device__ void combine(const Raw<N>& raw, float (&x)[N]) const
        {
            // x + 0 is x (and -0 becomes +0, which no statistic tells apart); x + NaN the NaN row.
            const float poison = in_range ? 0.0f : __int_as_float(0x7fc00000);  // quiet NaN
            // The order of Hugging Face's BertEmbeddings: (word + token_type) + position.
#pragma unroll
            for (int i = 0; i < N; ++i) x[i] = ((raw.word[i] + raw.type[i]) + raw.position[i]) + poison;
        }
    };

    // A row's loads (cu_seqlens for a packed batch, the ids), apart from what waits for them (row(RowIds)):
    // LayerNorm v20 asks for the next row's loads before this row's data arrive (common/layernorm_rows.cuh).
    struct RowIds {
        int32_t position;
        bool padding;
        int64_t token;
        int32_t word_id, type_id;
    };

    // Whether ids_of knows the batch's layout at compile time (v20's ahead()) or reads it from cu_seqlens
    // (every other version, through row(slot)).
    enum class Layout { kPadded, kPacked, kAtRunTime };
    static constexpr int kLayouts = 2;  // v20's instances: Layout::kPadded and kPacked
    int layout() const { return int(cu_seqlens == nullptr ? Layout::kPadded : Layout::kPacked); }

    template <Layout kLayout>
    __device__ RowIds ids_of(int64_t slot) const
    {
        const int32_t sequence = int32_t(seq_len.quotient(uint32_t(slot)));
        RowIds ids;
        ids.position = int32_t(slot) - sequence * int32_t(seq_len.divisor);
        // No branch below, only selects and predicated loads. A kernel of several rows a thread (v6, v14,
        // v16-v19) forms its rows one after another; with `if (padding) return Row{}` here ptxas issued the
        // next row's id loads only once this row's ids had come back and been checked, one round trip a
        // row (SASS of v18, run 25). Straight-line code lets every row's loads be in flight at once.
        const bool packed = kLayout == Layout::kAtRunTime ? cu_seqlens != nullptr : kLayout == Layout::kPacked;
        int32_t start = 0, length = int32_t(seq_len.divisor);
        if (packed) {
            start = cu_seqlens[sequence];
            length = cu_seqlens[sequence + 1] - start;
        }
        ids.padding = ids.position >= length;
        ids.token = packed ? int64_t(start) + ids.position : slot;
        ids.word_id = 0, ids.type_id = 0;
        if (!ids.padding) {
            ids.word_id = input_ids[ids.token];
            ids.type_id = token_type_ids[ids.token];
        }
        return ids;
    }

    // v20's, one kernel a layout. With the layout known at run time only, a padded batch's id loads hang on a
    // predicate that a packed batch's cu_seqlens loads feed, and ptxas issued them only after the current
    // row's first reduction (SASS, run 26), where they would leave right behind its loads. With both layouts in
    // one kernel, each in a branch of its own (run 26's form), merging the two paths' ids cost 8 registers and 4%
    // at 12,288 fp32 rows (run 27).
    template <int kLayout>
    __device__ RowIds ahead(int64_t slot) const
    {
        static_assert(kLayout == int(Layout::kPadded) || kLayout == int(Layout::kPacked), "one of kLayouts");
        return ids_of<Layout(kLayout)>(slot);
    }

    __device__ Row row(const RowIds& a) const
    {
        // The addresses are formed whatever the ids (row 0 for one out of range, or a padding slot) rather
        // than in a branch on them: then only a multiply-add waits for the ids, while the table pointers
        // and the row length load from constant memory before they arrive.
        Row row;
        row.out_row = a.padding ? -1 : a.token;
        row.in_range = !a.padding && uint32_t(a.word_id) < uint32_t(vocab) && uint32_t(a.type_id) < uint32_t(type_vocab) &&
                       a.position < max_pos;
        row.word = word_emb + int64_t(row.in_range ? a.word_id : 0) * hidden;
        row.type = type_emb + int64_t(row.in_range ? a.type_id : 0) * hidden;
        row.position = pos_emb + int64_t(row.in_range ? a.position : 0) * hidden;
        return row;
    }

    __device__ Row row(int64_t slot) const { return row(ids_of<Layout::kAtRunTime>(slot)); }

    // The default version at 128 .. 65536 slots (common/layernorm_rows.cuh, README); rows that v20 does not
    // take (hidden other than 768 and 1024) keep the choices from before it (run 26's).
    static constexpr bert::MeasuredDefaults kDefaults = {
        {12, 20, 20, 20, 20}, {12, 20, 20, 20, 20}, {12, 12, 14, 14, 13}, {12, 12, 3, 3, 3}};
};

template <typename T>
cudaError_t emb_layer_norm(int version, const EmbeddingRows& source, int64_t slots,
                           const float* gamma, const float* beta, void* output, float epsilon,
                           cudaStream_t stream)
{
    const bool aligned = bert::all_aligned16({source.word_emb, source.pos_emb, source.type_emb});
    return bert::launch_layernorm_rows(version, source, aligned, static_cast<T*>(output), gamma,
                                       beta, slots, source.hidden, epsilon, stream);
}

constexpr int kMaskBlockThreads = 128;

// One block per sequence counts its mask's non-zero entries.
__global__ void __launch_bounds__(kMaskBlockThreads)
mask_to_seq_lens_kernel(const int32_t* mask, int32_t seq_len, int32_t* seq_lens)
{
    const int32_t* row = mask + int64_t(blockIdx.x) * seq_len;
    int32_t count = 0;
    for (int s = threadIdx.x; s < seq_len; s += blockDim.x) count += row[s] != 0;
    count = bert::block_sum(count);
    if (threadIdx.x == 0) seq_lens[blockIdx.x] = count;
}

}  // namespace

extern "C" int bertEmbLayerNormVersion(int version, const int32_t* input_ids,
                                       const int32_t* token_type_ids, const int32_t* cu_seqlens,
                                       int32_t batch, int32_t seq_len, const float* word_emb,
                                       const float* pos_emb, const float* type_emb,
                                       const float* gamma, const float* beta, void* output,
                                       int32_t hidden, int32_t vocab, int32_t max_pos,
                                       int32_t type_vocab, float epsilon, BertDType dtype,
                                       cudaStream_t stream)
{
    if (batch < 0 || seq_len < 0) return cudaErrorInvalidValue;
    const int64_t slots = int64_t(batch) * seq_len;
    if (slots > INT32_MAX) return cudaErrorNotSupported;  // tokens are int32 (cu_seqlens)
    if (slots > 0 && (input_ids == nullptr || token_type_ids == nullptr || word_emb == nullptr ||
                      pos_emb == nullptr || type_emb == nullptr))
        return cudaErrorInvalidValue;
    // A row out of range reads row 0 of each table (EmbeddingRows::Row::fetch), which must exist.
    if (slots > 0 && (vocab < 1 || max_pos < 1 || type_vocab < 1)) return cudaErrorInvalidValue;
    const EmbeddingRows source{input_ids, token_type_ids, cu_seqlens,
                               bert::FastDivisor::of(uint32_t(seq_len)), word_emb, pos_emb,
                               type_emb, hidden, vocab, max_pos, type_vocab};
    switch (dtype) {
        case BERT_FP32:
            return emb_layer_norm<float>(version, source, slots, gamma, beta, output, epsilon, stream);
        case BERT_FP16:
            return emb_layer_norm<__half>(version, source, slots, gamma, beta, output, epsilon, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" int bertEmbLayerNorm(const int32_t* input_ids, const int32_t* token_type_ids,
                                const int32_t* cu_seqlens, int32_t batch, int32_t seq_len,
                                const float* word_emb, const float* pos_emb, const float* type_emb,
                                const float* gamma, const float* beta, void* output, int32_t hidden,
                                int32_t vocab, int32_t max_pos, int32_t type_vocab, float epsilon,
                                BertDType dtype, cudaStream_t stream)
{
    return bertEmbLayerNormVersion(bert::kLayerNormDefault, input_ids, token_type_ids, cu_seqlens,
                                   batch, seq_len, word_emb, pos_emb, type_emb, gamma, beta, output,
                                   hidden, vocab, max_pos, type_vocab, epsilon, dtype, stream);
}

extern "C" int bertMaskToSeqLens(const int32_t* mask, int32_t batch, int32_t seq_len,
                                 int32_t* seq_lens, cudaStream_t stream)
{
    if (batch < 0 || seq_len < 0) return cudaErrorInvalidValue;
    if (batch == 0) return cudaSuccess;
    if (seq_lens == nullptr || (seq_len > 0 && mask == nullptr)) return cudaErrorInvalidValue;
    mask_to_seq_lens_kernel<<<batch, kMaskBlockThreads, 0, stream>>>(mask, seq_len, seq_lens);
    return cudaGetLastError();
}
