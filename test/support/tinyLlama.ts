/**
 * Builds a real Llama-architecture causal language model with deterministic random weights, on disk,
 * in the folder layout @huggingface/transformers loads (config.json, generation_config.json,
 * tokenizer.json, tokenizer_config.json, onnx/model.onnx). Tests and benchmarks use it so that they
 * exercise the genuine loading, tokenizing, KV-cache and generation paths without downloading a model.
 *
 * The ONNX graph has the same inputs and outputs as the decoders transformers.js exports (and as
 * ../shared/models/stories260K): `input_ids`, `attention_mask`, `position_ids`,
 * `past_key_values.{i}.key/value` in; `logits`, `present.{i}.key/value` out; fp32.
 *
 * The weights are random, so the model says nothing meaningful: assert on mechanics and exact,
 * deterministic values, never on quality.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { seededWords } from '../../src/engine/random';

export interface LlamaShape {
  vocabularySize: number;
  hiddenSize: number;
  layers: number;
  heads: number;
  keyValueHeads: number;
  intermediateSize: number;
  contextLength: number;
}

/** Builds in about 50 ms and loads in milliseconds; still has grouped-query attention (2 query heads per kv head). */
export const TINY_SHAPE: LlamaShape = {
  vocabularySize: 512,
  hiddenSize: 32,
  layers: 2,
  heads: 4,
  keyValueHeads: 2,
  intermediateSize: 64,
  contextLength: 512,
};

/**
 * The shape of HuggingFaceTB/SmolLM2-135M: for benchmarks of realistic cost. The real model ties its
 * lm_head to the embedding (538 MB fp32); this one does not (see buildModelProto), so it is 651 MB. Never commit it.
 */
export const SMOLLM2_135M_SHAPE: LlamaShape = {
  vocabularySize: 49152,
  hiddenSize: 576,
  layers: 30,
  heads: 9,
  keyValueHeads: 3,
  intermediateSize: 1536,
  contextLength: 8192,
};

export interface BuildOptions {
  shape?: LlamaShape;
  /** Seeds the weights (the tokenizer does not depend on it). Default 1. */
  seed?: number;
  /** Writes a ChatML `chat_template` into tokenizer_config.json. Default true. */
  chatTemplate?: boolean;
}

/** Special tokens, in id order: ids 0..4. */
export const SPECIAL_TOKENS = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'] as const;
export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
export const IM_START_ID = 3;
export const IM_END_ID = 4;

/** ChatML, as SmolLM2-Instruct and Qwen use it, without a default system message. */
export const CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

const RMS_NORM_EPS = 1e-5;
const ROPE_THETA = 10000;

export async function buildTinyLlama(folder: string, options: BuildOptions = {}): Promise<void> {
  const shape = options.shape ?? TINY_SHAPE;
  const seed = options.seed ?? 1;
  const chatTemplate = options.chatTemplate ?? true;
  checkShape(shape);

  await mkdir(join(folder, 'onnx'), { recursive: true });
  const headDim = shape.hiddenSize / shape.heads;
  const config = {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: shape.hiddenSize,
    intermediate_size: shape.intermediateSize,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.keyValueHeads,
    head_dim: headDim,
    vocab_size: shape.vocabularySize,
    max_position_embeddings: shape.contextLength,
    rms_norm_eps: RMS_NORM_EPS,
    rope_theta: ROPE_THETA,
    hidden_act: 'silu',
    tie_word_embeddings: false,
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: UNK_ID,
    torch_dtype: 'float32',
    'transformers.js_config': { dtype: 'fp32' },
  };
  const generationConfig = {
    bos_token_id: BOS_ID,
    eos_token_id: EOS_ID,
    pad_token_id: UNK_ID,
    max_length: shape.contextLength,
  };
  const tokenizerConfig: Record<string, unknown> = {
    // GPT2Tokenizer: a plain byte-level BPE tokenizer in transformers.js, with no class-specific behaviour.
    tokenizer_class: 'GPT2Tokenizer',
    bos_token: '<s>',
    eos_token: '</s>',
    unk_token: '<unk>',
    pad_token: '<unk>',
    add_bos_token: true,
    add_eos_token: false,
    // Decoder-only models generate from the end of the row, so batches pad on the left.
    padding_side: 'left',
    clean_up_tokenization_spaces: false,
    model_max_length: shape.contextLength,
  };
  if (chatTemplate) tokenizerConfig.chat_template = CHAT_TEMPLATE;

  await writeFile(join(folder, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  await writeFile(join(folder, 'generation_config.json'), JSON.stringify(generationConfig, null, 2) + '\n');
  await writeFile(join(folder, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig, null, 2) + '\n');
  await writeFile(join(folder, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(shape.vocabularySize)));
  // writeFile takes the chunks as an iterable and writes them in order, with no concatenated copy.
  await writeFile(join(folder, 'onnx', 'model.onnx'), buildModelProto(shape, seed));
}

function checkShape(shape: LlamaShape): void {
  const minimumVocabulary = SPECIAL_TOKENS.length + 256;
  if (shape.vocabularySize < minimumVocabulary) {
    throw new Error(`vocabularySize must be at least ${minimumVocabulary} (special tokens + 256 bytes)`);
  }
  if (shape.hiddenSize % shape.heads !== 0) throw new Error('hiddenSize must be a multiple of heads');
  if (shape.heads % shape.keyValueHeads !== 0) throw new Error('heads must be a multiple of keyValueHeads');
  if ((shape.hiddenSize / shape.heads) % 2 !== 0) throw new Error('head dimension must be even (rotary halves)');
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: byte-level BPE (as GPT-2 and SmolLM2 use), so that any Unicode text encodes without
// unknown tokens. Vocabulary: 5 special tokens, the 256 byte symbols, then merges up to the size.
// ---------------------------------------------------------------------------------------------

/** English text the merges are learnt from, so common words ("Hello world") become few tokens. */
const MERGE_CORPUS = `
Hello world! Hello, world. The quick brown fox jumps over the lazy dog. Hello there, how are you today?
I am fine, thank you. What is the answer to this question? The answer is yes. The answer is no.
Once upon a time there was a little girl who lived in a village near the forest. She liked to play
with her friends and read books about the world. Every day she would walk to the river and look at
the water. One day she saw a small bird in the tree and said hello to it. The bird sang a song.
Input: the movie was great. Output: positive. Input: the food was cold. Output: negative.
Question: what is two plus two? Answer: four. Question: what colour is the sky? Answer: blue.
Translate English to French: cheese => fromage. Summarize the following text in one sentence.
The model reads the prompt and writes the completion. A fine-tuned model and a prompted model are
compared on the same examples, and the report shows how many examples the prompt needs.
function hello(name) { return "Hello, " + name + "!"; } const world = hello("world");
for (let i = 0; i < 10; i++) { console.log(i); } if (value === true) { return false; }
The user asked the assistant a question, and the assistant answered the user with a short reply.
`;

/** GPT-2's reversible map from bytes to printable characters, the symbols the ByteLevel pre-tokenizer emits. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map: string[] = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return map;
}

/** The GPT-2 pre-tokenization pattern, the one @huggingface/tokenizers' ByteLevel uses. */
const PRE_TOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function buildTokenizerJson(vocabularySize: number): unknown {
  const byteSymbols = bytesToUnicode();
  const vocab = new Map<string, number>();
  SPECIAL_TOKENS.forEach((token, id) => vocab.set(token, id));
  // Byte symbols in byte order, so the id of byte b is SPECIAL_TOKENS.length + b.
  for (const symbol of byteSymbols) vocab.set(symbol, vocab.size);

  const merges: [string, string][] = [];
  const addMerge = (left: string, right: string): void => {
    merges.push([left, right]);
    vocab.set(left + right, vocab.size);
  };

  // 1. Learn merges from the corpus: repeatedly merge the most frequent adjacent pair (ties broken
  //    by the pair's text, so the result never depends on Map iteration details).
  const encoder = new TextEncoder();
  const wordCounts = new Map<string, number>();
  for (const word of MERGE_CORPUS.match(PRE_TOKENIZE) ?? []) {
    const symbols = Array.from(encoder.encode(word), (b) => byteSymbols[b] as string).join('\u0000');
    wordCounts.set(symbols, (wordCounts.get(symbols) ?? 0) + 1);
  }
  let words = [...wordCounts].map(([symbols, count]) => ({ symbols: symbols.split('\u0000'), count }));
  while (vocab.size < vocabularySize) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] + '\u0000' + symbols[i + 1];
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best: string | undefined;
    let bestCount = 1; // a pair seen once is not "frequent": leave the rest to step 2
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === undefined) break;
    const [left, right] = best.split('\u0000') as [string, string];
    if (vocab.has(left + right)) break; // cannot happen with byte symbols, but a duplicate would corrupt the vocabulary
    addMerge(left, right);
    words = words.map(({ symbols, count }) => {
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else merged.push(symbols[i] as string);
      }
      return { symbols: merged, count };
    });
  }

  // 2. Fill the rest of a large vocabulary with synthetic merges of existing tokens, in a fixed
  //    order: letters (and space-letter tokens) first, so the extra tokens look like word pieces.
  if (vocab.size < vocabularySize) {
    const pieces = [...vocab.keys()].slice(SPECIAL_TOKENS.length);
    const isLetters = (token: string): boolean => /^Ġ?[a-zA-Z]*$/.test(token); // 'Ġ' (space) included
    const ordered = [...pieces.filter(isLetters), ...pieces.filter((token) => !isLetters(token))];
    outer: for (const left of ordered) {
      for (const right of ordered) {
        if (vocab.size >= vocabularySize) break outer;
        // A token that starts with the space symbol only makes sense at the start of a word.
        if (right.startsWith('Ġ') || vocab.has(left + right)) continue;
        addMerge(left, right);
      }
    }
  }
  if (vocab.size !== vocabularySize) throw new Error(`tokenizer vocabulary came to ${vocab.size}, not ${vocabularySize}`);

  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    // Prepends <s> when special tokens are added, as Llama tokenizers do.
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [BOS_ID], tokens: ['<s>'] } },
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------

/**
 * `count` values with mean 0 and standard deviation `std`, from a triangular distribution (the sum of the
 * two 16-bit halves of one random word, as two uniforms): normal enough, one generator call per weight
 * (135M of them for the SmolLM2 shape), and plain arithmetic, so every machine produces the same bits.
 */
function randomWeights(random: () => number, count: number, std: number): Float32Array {
  const values = new Float32Array(count);
  const scale = (std * Math.sqrt(6)) / 65536; // u1 + u2 - 1 has variance 1/6
  for (let i = 0; i < count; i++) {
    const word = random();
    values[i] = ((word & 0xffff) + (word >>> 16) + 1 - 65536) * scale; // (u1 + u2 - 1) * 65536, u = (k + 0.5) / 65536
  }
  return values;
}

// ---------------------------------------------------------------------------------------------
// ONNX graph
// ---------------------------------------------------------------------------------------------

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const BOOL = onnx.TensorProto.DataType.BOOL;
/** The additive mask value for hidden positions: float32's lowest, as Hugging Face's exporters use. */
const MASKED = -3.4028234663852886e38;

type Attribute = number | number[] | { float: number };
interface Initializer {
  header: onnx.ITensorProto;
  data: Uint8Array;
}

/** Collects nodes and initializers; every node gets a unique output name from its op type. */
class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  /** Tensor headers (name, dims, type) with their raw little-endian bytes kept apart; see encodeModel. */
  readonly initializers: Initializer[] = [];
  private counter = 0;
  private readonly constants = new Map<string, string>();

  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, outputs?: string[]): string[] {
    const names = outputs ?? [`${opType}_${this.counter++}`];
    this.nodes.push({
      opType,
      input: inputs,
      output: names,
      name: `${opType}_node_${this.nodes.length}`,
      attribute: Object.entries(attributes).map(([name, value]) => attributeProto(name, value)),
    });
    return names;
  }

  /** A single-output node. */
  node(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, output?: string): string {
    return this.op(opType, inputs, attributes, output === undefined ? undefined : [output])[0] as string;
  }

  /** raw_data is little-endian; Float32Array bytes are, on every platform Node runs on here (x64, arm64). */
  weight(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ header: { name, dims, dataType: FLOAT }, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 constant, shared between nodes that need the same values; dims [] makes a scalar. */
  int64(values: number[], dims: number[] = [values.length]): string {
    return this.constant('i64', values, dims, () => {
      const data = BigInt64Array.from(values, (v) => BigInt(v));
      return { dataType: INT64, data: new Uint8Array(data.buffer) };
    });
  }

  float(values: number[], dims: number[] = [values.length]): string {
    return this.constant('f32', values, dims, () => {
      const data = Float32Array.from(values);
      return { dataType: FLOAT, data: new Uint8Array(data.buffer) };
    });
  }

  private constant(kind: string, values: number[], dims: number[], make: () => { dataType: number; data: Uint8Array }): string {
    const key = `${kind}:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (name === undefined) {
      name = `const_${kind}_${this.constants.size}`;
      const { dataType, data } = make();
      this.initializers.push({ header: { name, dims, dataType }, data });
      this.constants.set(key, name);
    }
    return name;
  }
}

function attributeProto(name: string, value: Attribute): onnx.IAttributeProto {
  if (Array.isArray(value)) return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: value };
  if (typeof value === 'number') return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value.float };
}

type Dim = number | string;
function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/** The serialized model as a list of byte chunks, to be written one after another. */
function buildModelProto(shape: LlamaShape, seed: number): Uint8Array[] {
  const { vocabularySize: V, hiddenSize: H, layers, heads, keyValueHeads: KV, intermediateSize: I } = shape;
  const headDim = H / heads;
  const group = heads / KV;
  const random = seededWords(seed);
  const g = new GraphBuilder();

  // Weight scales, chosen so greedy output varies with the context instead of looping: the embedding has
  // unit-size entries, like each layer's contribution to the residual stream, so the current token is not
  // drowned by the first attention output; projections use 1/sqrt(fan_in), so attention scores are O(1).
  // The lm_head is NOT tied to the embedding: a tied random model scores the input token highest and
  // repeats it (measured over 24 greedy runs, 2 shapes x 4 seeds x 3 prompts: 3 distinct tokens in 32,
  // 21 runs stuck in a loop of period <= 2; untied: 25 distinct, 1 stuck). Its scale gives logits of
  // standard deviation about 4: peaked, so top-1/top-2 gaps are wide and greedy ids do not flip with
  // float rounding on other CPUs.
  const inStd = 1 / Math.sqrt(H);
  const embedding = g.weight('model.embed_tokens.weight', [V, H], randomWeights(random, V * H, 1));

  // Hidden states [batch, seq, H].
  let hidden = g.node('Gather', [embedding, 'input_ids'], { axis: 0 });

  // Rotary embedding from position_ids: angle[b, s, j] = position * invFreq[j], duplicated over both halves.
  const invFreq = Array.from({ length: headDim / 2 }, (_, j) => 1 / Math.pow(ROPE_THETA, (2 * j) / headDim));
  const positions = g.node('Unsqueeze', [g.node('Cast', ['position_ids'], { to: FLOAT }), g.int64([2])]);
  const freqs = g.node('Mul', [positions, g.float(invFreq)]);
  const angles = g.node('Concat', [freqs, freqs], { axis: -1 });
  const cos = g.node('Unsqueeze', [g.node('Cos', [angles]), g.int64([1])]); // [batch, 1, seq, headDim]
  const sin = g.node('Unsqueeze', [g.node('Sin', [angles]), g.int64([1])]);

  // Additive attention mask [batch, 1, 1, seq, total]: query i (at absolute index total - seq + i) sees key j
  // when j <= its index and attention_mask[b, j] is 1. Left padding is masked out this way, while the
  // positions of real tokens come from position_ids, so a padded row computes what it would alone.
  const sequenceLength = g.node('Gather', [g.node('Shape', ['input_ids']), g.int64([1], [])], { axis: 0 });
  const totalLength = g.node('Gather', [g.node('Shape', ['attention_mask']), g.int64([1], [])], { axis: 0 });
  const one = g.int64([1], []);
  const queryIndex = g.node('Range', [g.node('Sub', [totalLength, sequenceLength]), totalLength, one]);
  const keyIndex = g.node('Range', [g.int64([0], []), totalLength, one]);
  const causal = g.node('LessOrEqual', [g.node('Unsqueeze', [keyIndex, g.int64([0])]), g.node('Unsqueeze', [queryIndex, g.int64([1])])]);
  const keep = g.node('Unsqueeze', [g.node('Cast', ['attention_mask'], { to: BOOL }), g.int64([1, 2, 3])]);
  const maskBias = g.node('Where', [g.node('And', [causal, keep]), g.float([0], []), g.float([MASKED], [])]);

  const epsilon = g.float([RMS_NORM_EPS], []);
  const rmsNorm = (x: string, weight: string): string => {
    const meanSquare = g.node('ReduceMean', [g.node('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const normalized = g.node('Mul', [x, g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [meanSquare, epsilon])])])]);
    return g.node('Mul', [normalized, weight]);
  };
  const ones = (name: string): string => g.weight(name, [H], new Float32Array(H).fill(1));
  const halves = g.int64([headDim / 2, headDim / 2]);
  const rotate = (x: string): string => {
    // x * cos + rotate_half(x) * sin, with rotate_half(x) = concat(-x2, x1) (the Hugging Face convention).
    const [x1, x2] = g.op('Split', [x, halves], { axis: -1 }, [`${x}_half1`, `${x}_half2`]) as [string, string];
    const rotated = g.node('Concat', [g.node('Neg', [x2]), x1], { axis: -1 });
    return g.node('Add', [g.node('Mul', [x, cos]), g.node('Mul', [rotated, sin])]);
  };
  // [batch, seq, n * headDim] -> [batch, n, seq, headDim]
  const splitHeads = (x: string, n: number): string =>
    g.node('Transpose', [g.node('Reshape', [x, g.int64([0, 0, n, headDim])])], { perm: [0, 2, 1, 3] });
  const scale = g.float([1 / Math.sqrt(headDim)], []);

  for (let layer = 0; layer < layers; layer++) {
    const p = `model.layers.${layer}`;
    const wq = g.weight(`${p}.self_attn.q_proj.weight_T`, [H, heads * headDim], randomWeights(random, H * heads * headDim, inStd));
    const wk = g.weight(`${p}.self_attn.k_proj.weight_T`, [H, KV * headDim], randomWeights(random, H * KV * headDim, inStd));
    const wv = g.weight(`${p}.self_attn.v_proj.weight_T`, [H, KV * headDim], randomWeights(random, H * KV * headDim, inStd));
    const wo = g.weight(`${p}.self_attn.o_proj.weight_T`, [heads * headDim, H], randomWeights(random, heads * headDim * H, inStd));
    const wGate = g.weight(`${p}.mlp.gate_proj.weight_T`, [H, I], randomWeights(random, H * I, inStd));
    const wUp = g.weight(`${p}.mlp.up_proj.weight_T`, [H, I], randomWeights(random, H * I, inStd));
    const wDown = g.weight(`${p}.mlp.down_proj.weight_T`, [I, H], randomWeights(random, I * H, 1 / Math.sqrt(I)));

    // Self-attention.
    const x = rmsNorm(hidden, ones(`${p}.input_layernorm.weight`));
    const q = rotate(splitHeads(g.node('MatMul', [x, wq]), heads)); // [batch, heads, seq, headDim]
    const k = rotate(splitHeads(g.node('MatMul', [x, wk]), KV)); // [batch, KV, seq, headDim]
    const v = splitHeads(g.node('MatMul', [x, wv]), KV);
    const keys = g.node('Concat', [`past_key_values.${layer}.key`, k], { axis: 2 }, `present.${layer}.key`);
    const values = g.node('Concat', [`past_key_values.${layer}.value`, v], { axis: 2 }, `present.${layer}.value`);
    // Grouped-query attention without copying kv heads: query head h = kvHead * group + i (as Hugging
    // Face's repeat_kv orders them), so view queries as [batch, KV, group, seq, headDim] and broadcast
    // keys/values [batch, KV, 1, total, headDim] over the group axis.
    const groupedQ = g.node('Reshape', [q, g.int64([0, KV, group, -1, headDim])]);
    const keysT = g.node('Transpose', [g.node('Unsqueeze', [keys, g.int64([2])])], { perm: [0, 1, 2, 4, 3] });
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [groupedQ, keysT]), scale]), maskBias]);
    const weights = g.node('Softmax', [scores], { axis: -1 });
    const context = g.node('MatMul', [weights, g.node('Unsqueeze', [values, g.int64([2])])]); // [batch, KV, group, seq, headDim]
    const merged = g.node('Reshape', [
      g.node('Transpose', [g.node('Reshape', [context, g.int64([0, heads, -1, headDim])])], { perm: [0, 2, 1, 3] }),
      g.int64([0, 0, heads * headDim]),
    ]);
    hidden = g.node('Add', [hidden, g.node('MatMul', [merged, wo])]);

    // SwiGLU MLP: down(silu(gate(x)) * up(x)).
    const y = rmsNorm(hidden, ones(`${p}.post_attention_layernorm.weight`));
    const gate = g.node('MatMul', [y, wGate]);
    const activated = g.node('Mul', [gate, g.node('Sigmoid', [gate])]);
    const up = g.node('MatMul', [y, wUp]);
    hidden = g.node('Add', [hidden, g.node('MatMul', [g.node('Mul', [activated, up]), wDown])]);
  }

  // Final norm and lm_head ([H, V], stored transposed for MatMul like the projections).
  const lmHead = g.weight('lm_head.weight_T', [H, V], randomWeights(random, H * V, 4 * inStd));
  const normed = rmsNorm(hidden, ones('model.norm.weight'));
  g.node('MatMul', [normed, lmHead], {}, 'logits');

  const inputs = [
    valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']),
    valueInfo('attention_mask', INT64, ['batch_size', 'total_sequence_length']),
    valueInfo('position_ids', INT64, ['batch_size', 'sequence_length']),
  ];
  const outputs = [valueInfo('logits', FLOAT, ['batch_size', 'sequence_length', V])];
  for (let layer = 0; layer < layers; layer++) {
    for (const kind of ['key', 'value']) {
      inputs.push(valueInfo(`past_key_values.${layer}.${kind}`, FLOAT, ['batch_size', KV, 'past_sequence_length', headDim]));
      outputs.push(valueInfo(`present.${layer}.${kind}`, FLOAT, ['batch_size', KV, 'total_sequence_length', headDim]));
    }
  }

  return encodeModel(
    { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'test/support/tinyLlama.ts' },
    { name: 'tiny_llama', node: g.nodes, input: inputs, output: outputs },
    g.initializers,
  );
}

/**
 * Serializes ModelProto{graph: GraphProto{..., initializer: [...]}} without copying the weights: protobufjs
 * encodes everything but the raw tensor bytes, and the length-delimited wrappers around them are written
 * here. Protobuf parsers accept fields in any order, so appending `graph` (field 7) to the model's other
 * fields, `initializer` (field 5) to the graph's, and `raw_data` (field 9) to each tensor's header is a
 * valid encoding. For the SmolLM2 shape this saves a 650 MB copy and seconds of protobufjs work.
 */
function encodeModel(model: onnx.IModelProto, graph: onnx.IGraphProto, initializers: Initializer[]): Uint8Array[] {
  const graphChunks: Uint8Array[] = [onnx.GraphProto.encode(graph).finish()];
  for (const { header, data } of initializers) {
    const tensorHeader = onnx.TensorProto.encode(header).finish();
    const rawDataKey = fieldKey(9, data.length);
    graphChunks.push(fieldKey(5, tensorHeader.length + rawDataKey.length + data.length), tensorHeader, rawDataKey, data);
  }
  const graphLength = graphChunks.reduce((sum, chunk) => sum + chunk.length, 0);
  // onnxruntime refuses protobuf files of 2 GB or more; such shapes would need ONNX external data.
  if (graphLength >= 2 ** 31 - 1024) throw new Error(`model of ${graphLength} bytes is over the 2 GB protobuf limit`);
  return [onnx.ModelProto.encode(model).finish(), fieldKey(7, graphLength), ...graphChunks];
}

/** The key and length prefix of a length-delimited protobuf field (wire type 2). */
function fieldKey(field: number, length: number): Uint8Array {
  const bytes = [(field << 3) | 2];
  for (let rest = length; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) {
      bytes.push(rest);
      break;
    }
    bytes.push((rest % 128) | 128);
  }
  return Uint8Array.from(bytes);
}
