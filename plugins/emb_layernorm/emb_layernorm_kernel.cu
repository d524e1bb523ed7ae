// EmbLayerNorm: LayerNorm(word_emb[id] + token_type_emb[type] + pos_emb[position]) per token,
// the three gathers and the sum never going to memory; plus mask -> sequence lengths.
// The normalization is common/layernorm_rows.cuh; this file maps tokens to table rows.
#include "emb_layernorm_kernel.h"

#include "../common/layernorm_rows.cuh"

namespace {

// Rows are (sequence b, position s) slots, b < batch, s < seq_len, in that order. Padded: slot ==
// token. Packed: slot (b, s) is token cu_seqlens[b] + s if s < that sequence's length, else a
// padding slot with nothing to write. Launching over slots lets the host size the grid without
// reading cu_seqlens (device memory) and needs no search for a token's sequence.
struct EmbeddingRows {
    const int32_t* input_ids;
    const int32_t* token_type_ids;
    const int32_t* cu_seqlens;  // null: padded
    int32_t seq_len;
    const float* word_emb;
    const float* pos_emb;
    const float* type_emb;
    int32_t hidden;
    int32_t vocab;
    int32_t max_pos;
    int32_t type_vocab;

    struct Row {
        const float* word = nullptr;  // null on a row with an id out of range: a NaN row
        const float* position = nullptr;
        const float* type = nullptr;
        int64_t out_row = -1;

        template <int N>
        struct Raw {
            float word[N];
            float type[N];
            float position[N];
        };

        template <int N>
        __device__ void fetch(int col, Raw<N>& raw) const
        {
            if (word == nullptr) return;  // combine writes the NaN row
            bert::load_raw(word + col, raw.word);
            bert::load_raw(type + col, raw.type);
            bert::load_raw(position + col, raw.position);
        }

        template <int N>
        __device__ void combine(const Raw<N>& raw, float (&x)[N]) const
        {
            if (word == nullptr) {
#pragma unroll
                for (int i = 0; i < N; ++i) x[i] = __int_as_float(0x7fc00000);  // quiet NaN
                return;
            }
            // The order of Hugging Face's BertEmbeddings: (word + token_type) + position.
#pragma unroll
            for (int i = 0; i < N; ++i) x[i] = (raw.word[i] + raw.type[i]) + raw.position[i];
        }
    };

    __device__ Row row(int64_t slot) const
    {
        const int64_t sequence = slot / seq_len;
        const int32_t position = int32_t(slot - sequence * seq_len);
        int64_t token = slot;
        if (cu_seqlens != nullptr) {
            const int32_t start = cu_seqlens[sequence];
            if (position >= cu_seqlens[sequence + 1] - start) return Row{};  // padding slot
            token = start + position;
        }
        const int32_t word_id = input_ids[token];
        const int32_t type_id = token_type_ids[token];
        Row row;
        row.out_row = token;
        if (0 <= word_id && word_id < vocab && 0 <= type_id && type_id < type_vocab &&
            position < max_pos) {
            row.word = word_emb + int64_t(word_id) * hidden;
            row.type = type_emb + int64_t(type_id) * hidden;
            row.position = pos_emb + int64_t(position) * hidden;
        }
        return row;
    }

    // The default version at 128 .. 65536 slots (common/layernorm_rows.cuh, README).
    static constexpr bert::MeasuredDefaults kDefaults = {{9, 7, 5, 7, 7}, {9, 9, 3, 3, 3}};
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
    if (slots > 0 && (input_ids == nullptr || token_type_ids == nullptr || word_emb == nullptr ||
                      pos_emb == nullptr || type_emb == nullptr))
        return cudaErrorInvalidValue;
    const EmbeddingRows source{input_ids, token_type_ids, cu_seqlens, seq_len, word_emb, pos_emb,
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
