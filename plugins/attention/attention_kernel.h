// QkvToContext: fused multi-head self-attention, softmax(Q K^T * scale + mask) V, per head.
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// qkv: [tokens, 3 * num_heads * head_size] of `dtype`; per token the layout is
//   [Q(head 0..n-1) | K(head 0..n-1) | V(head 0..n-1)], each head `head_size` wide
//   (the output of one GEMM with the concatenated query/key/value weights).
// context: [tokens, num_heads * head_size] of `dtype`, heads concatenated like HF's output.
// Sequences:
//  - padded (cu_seqlens == NULL): tokens = batch * seq_len; sequence b is rows
//    [b*seq_len, (b+1)*seq_len); every one of its seq_len query rows is computed, and only its
//    first seq_lens[b] keys are attended (the rest are padding). That equals HF's additive mask
//    for right-padded batches, padded query rows included.
//  - packed (cu_seqlens != NULL, [batch + 1]): sequence b is rows [cu[b], cu[b+1]); queries and
//    keys are exactly those rows; seq_lens may be NULL; seq_len is the longest sequence.
// Softmax statistics are fp32 for both dtypes. seq_len <= 512 at least; head_size 64 at least.
int bertQkvToContext(const void* qkv, void* context, const int32_t* seq_lens,
                     const int32_t* cu_seqlens, int32_t batch, int32_t seq_len, int32_t num_heads,
                     int32_t head_size, float scale, BertDType dtype, cudaStream_t stream);

// Edge cases, every version: in padded mode seq_lens == NULL means every key is valid; a
// sequence with no valid key gets a zero context; batch == 0 or seq_len == 0 does nothing.
//
// For tests, benchmarks and the plugin's tactics: the same computation by one numbered kernel version of
// attention_kernel.cu (0 = what bertQkvToContext picks, 1 = plain fp32/fp16, 2, 3 and 4 =
// fp16 mma.sync variants, 5 and 6 = fp16 Hopper wgmma variants, 7 and 8 = fp32 on CUDA cores, see
// the .cu). A version that cannot run the call (wrong dtype, head size not compiled, no Hopper GPU or
// sm_90a code, too little shared memory, unaligned buffers, a scale <= 0 for 5 and 6) returns
// cudaErrorNotSupported before launching anything (the plugin's pinned tactic then gives way to
// the default); a number outside 0-8, cudaErrorInvalidValue.
int bertQkvToContextVersion(int32_t version, const void* qkv, void* context,
                            const int32_t* seq_lens, const int32_t* cu_seqlens, int32_t batch,
                            int32_t seq_len, int32_t num_heads, int32_t head_size, float scale,
                            BertDType dtype, cudaStream_t stream);

// 1 if `version` handles this head size and dtype (given 16-byte aligned buffers, and for 5 and
// 6 a scale > 0) on the current device with this build of the library, else 0.
int bertQkvToContextVersionSupported(int32_t version, int32_t head_size, BertDType dtype);

// The highest version number bertQkvToContextVersion takes (versions are 1 to this; 0 = default).
enum { BERT_QKV_TO_CONTEXT_LAST_VERSION = 8 };

#ifdef __cplusplus
}
#endif
