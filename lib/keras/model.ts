// What a Keras 3 model config says about the weights file: which layer groups the
// file has (named as Keras's saving_lib names them), which variables each layer
// stores under `vars/<i>`, their shapes, dtypes, trainable flags and Keras paths.
// Only layers whose variables we know are accepted; anything else is refused.

/** One variable a layer stores, in the order of its `vars/<i>` datasets. */
export interface VariableSpec {
  name: string;
  /** Keras path of the variable (as the saving process named it). */
  path: string;
  /** Expected shape; `null` where the config does not say (checked against the file). */
  shape: (number | null)[];
  dtype: 'float32' | 'float64';
  trainable: boolean;
}

export interface LayerPlan {
  className: string;
  name: string;
  /** The HDF5 group of the layer, e.g. 'layers/dense_1' (its datasets live in '<group>/vars'). */
  group: string;
  variables: VariableSpec[];
}

export interface ModelPlan {
  kind: 'Sequential' | 'Functional';
  name: string;
  layers: LayerPlan[];
  /** All variables in Keras's `model.weights` order. */
  variables: VariableSpec[];
}

export class KerasFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KerasFormatError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Keras's naming.to_snake_case: how saving_lib names a layer's group after its class. */
export function toSnakeCase(name: string): string {
  return name
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Layers that hold no variables in a weights file (their group is empty). */
const WEIGHTLESS = new Set([
  'InputLayer',
  'Activation',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'SpatialDropout3D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'ActivityRegularization',
  'Masking',
  'Identity',
  'Flatten',
  'Reshape',
  'Permute',
  'RepeatVector',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'AveragePooling1D',
  'AveragePooling2D',
  'AveragePooling3D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'GlobalMaxPooling3D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalAveragePooling3D',
  'ZeroPadding1D',
  'ZeroPadding2D',
  'ZeroPadding3D',
  'Cropping1D',
  'Cropping2D',
  'Cropping3D',
  'UpSampling1D',
  'UpSampling2D',
  'UpSampling3D',
  'Add',
  'Subtract',
  'Multiply',
  'Average',
  'Maximum',
  'Minimum',
  'Concatenate',
  'Dot',
]);

const CONV = new Set(['Conv1D', 'Conv2D', 'Conv3D']);

/** The layer types this module maps to their variables (for messages and docs). */
export const SUPPORTED_LAYERS: readonly string[] = Object.freeze([
  'Dense',
  'Conv1D',
  'Conv2D',
  'Conv3D',
  'Embedding',
  'BatchNormalization',
  'LayerNormalization',
  ...WEIGHTLESS,
]);

/** The dtype of a layer's variables under its dtype policy; anything but a float32/float64 variable dtype is refused. */
function variableDtype(layer: Json, where: string): 'float32' | 'float64' {
  const d = layer.dtype;
  let name: unknown = 'float32';
  if (typeof d === 'string') name = d;
  else if (isObject(d)) {
    if (d.class_name !== 'DTypePolicy' && d.class_name !== 'FloatDTypePolicy') {
      throw new KerasFormatError(`${where}: dtype policy ${JSON.stringify(d.class_name)} is not supported (quantized layers are refused)`);
    }
    name = isObject(d.config) ? d.config.name : undefined;
  } else if (d !== undefined && d !== null) name = undefined;
  if (name === 'float32' || name === 'mixed_float16' || name === 'mixed_bfloat16') return 'float32';
  if (name === 'float64') return 'float64';
  throw new KerasFormatError(
    `${where}: dtype policy ${JSON.stringify(name)} is not supported (only float32, float64 and mixed_* variables)`,
  );
}

/** The input shape a layer was built with (from its build_config), or null when the config does not record it. */
function inputShape(entry: Json): (number | null)[] | null {
  const bc = entry.build_config;
  if (!isObject(bc) || !Array.isArray(bc.input_shape)) return null;
  const s = bc.input_shape;
  // A layer built on several inputs records a list of shapes: not a single-input layer we map.
  if (s.some((d) => Array.isArray(d))) return null;
  return s.map((d) => (typeof d === 'number' ? d : null));
}

function dim(shape: (number | null)[] | null, axis: number): number | null {
  if (!shape) return null;
  const i = axis < 0 ? shape.length + axis : axis;
  return i >= 0 && i < shape.length ? shape[i] : null;
}

function positiveInt(v: unknown, what: string, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) <= 0)
    throw new KerasFormatError(`${where}: \`${what}\` must be a positive integer. Received: ${JSON.stringify(v)}`);
  return v as number;
}

function refuseIfSet(config: Json, keys: string[], where: string): void {
  for (const k of keys) {
    const v = config[k];
    if (v !== undefined && v !== null && v !== false && v !== 0) {
      throw new KerasFormatError(`${where}: \`${k}\` (${JSON.stringify(v)}) is not supported; its variables are not mapped`);
    }
  }
}

/** The variables one layer stores, in `vars/<i>` order: [name, shape, trainable at creation]. */
function layerVariables(className: string, config: Json, entry: Json, where: string): [string, (number | null)[], boolean][] {
  if (WEIGHTLESS.has(className)) return [];
  const input = inputShape(entry);
  if (className === 'Dense') {
    refuseIfSet(config, ['lora_rank', 'quantization_config'], where);
    const units = positiveInt(config.units, 'units', where);
    const vars: [string, (number | null)[], boolean][] = [['kernel', [dim(input, -1), units], true]];
    if (config.use_bias !== false) vars.push(['bias', [units], true]);
    return vars;
  }
  if (CONV.has(className)) {
    refuseIfSet(config, ['lora_rank', 'quantization_config'], where);
    const rank = Number(className[4]);
    const filters = positiveInt(config.filters, 'filters', where);
    const groups = config.groups === undefined ? 1 : positiveInt(config.groups, 'groups', where);
    const ks = config.kernel_size;
    const kernelSize = Array.isArray(ks) ? ks : [ks];
    if (kernelSize.length !== rank)
      throw new KerasFormatError(`${where}: \`kernel_size\` ${JSON.stringify(ks)} does not have ${rank} entries`);
    kernelSize.forEach((k) => positiveInt(k, 'kernel_size', where));
    const channels = dim(input, config.data_format === 'channels_first' ? 1 : -1);
    const vars: [string, (number | null)[], boolean][] = [
      ['kernel', [...(kernelSize as number[]), channels === null ? null : channels / groups, filters], true],
    ];
    if (config.use_bias !== false) vars.push(['bias', [filters], true]);
    return vars;
  }
  if (className === 'Embedding') {
    refuseIfSet(config, ['lora_rank', 'quantization_config'], where);
    return [['embeddings', [positiveInt(config.input_dim, 'input_dim', where), positiveInt(config.output_dim, 'output_dim', where)], true]];
  }
  if (className === 'BatchNormalization') {
    refuseIfSet(config, ['renorm'], where);
    const axis = config.axis ?? -1;
    if (!Number.isSafeInteger(axis))
      throw new KerasFormatError(`${where}: \`axis\` ${JSON.stringify(axis)} is not supported (one integer axis)`);
    const shape = [dim(input, axis as number)];
    const vars: [string, (number | null)[], boolean][] = [];
    if (config.scale !== false) vars.push(['gamma', shape, true]);
    if (config.center !== false) vars.push(['beta', shape, true]);
    vars.push(['moving_mean', shape, false], ['moving_variance', shape, false]);
    return vars;
  }
  if (className === 'LayerNormalization') {
    const axis = config.axis ?? -1;
    const axes = Array.isArray(axis) ? axis : [axis];
    if (!axes.every((a) => Number.isSafeInteger(a)))
      throw new KerasFormatError(`${where}: \`axis\` ${JSON.stringify(axis)} is not supported`);
    const shape = axes.map((a) => dim(input, a as number));
    const rms = config.rms_scaling === true;
    const vars: [string, (number | null)[], boolean][] = [];
    if (config.scale !== false || rms) vars.push(['gamma', shape, true]);
    if (config.center !== false && !rms) vars.push(['beta', shape, true]);
    return vars;
  }
  if (className === 'Sequential' || className === 'Functional' || className === 'Model') {
    throw new KerasFormatError(`${where}: nested models are not supported (flatten the model, or save the inner model on its own)`);
  }
  throw new KerasFormatError(
    `${where}: layer class ${JSON.stringify(className)} is not supported. Supported layers: ${SUPPORTED_LAYERS.join(', ')}`,
  );
}

/**
 * Reads a model config (the content of a .keras file's config.json, or its inner `config`
 * with `class_name`) into the list of layer groups and variables Keras writes for it.
 */
export function planModel(modelConfig: unknown): ModelPlan {
  if (!isObject(modelConfig)) throw new KerasFormatError(`the model config must be an object. Received: ${JSON.stringify(modelConfig)}`);
  const className = modelConfig.class_name;
  if (className !== 'Sequential' && className !== 'Functional') {
    throw new KerasFormatError(
      `model class ${JSON.stringify(className)} is not supported: only Sequential and Functional models (subclassed models have no layer list to map)`,
    );
  }
  const inner = modelConfig.config;
  if (!isObject(inner) || !Array.isArray(inner.layers)) throw new KerasFormatError(`the ${className} config has no \`layers\` list`);
  const name = typeof inner.name === 'string' ? inner.name : className.toLowerCase();
  const modelTrainable = inner.trainable !== false;
  const used = new Map<string, number>();
  const layers: LayerPlan[] = [];
  for (const [i, entry] of inner.layers.entries()) {
    if (!isObject(entry) || typeof entry.class_name !== 'string' || !isObject(entry.config)) {
      throw new KerasFormatError(`layer ${i} of the model config is not a serialized layer`);
    }
    const layerClass = entry.class_name;
    // Sequential's `layers` leaves its InputLayer out; Functional's keeps it.
    if (className === 'Sequential' && layerClass === 'InputLayer') continue;
    const config = entry.config;
    const layerName = typeof config.name === 'string' ? config.name : String(entry.name ?? `layer_${i}`);
    const where = `layer '${layerName}' (${layerClass})`;
    const base = toSnakeCase(layerClass);
    const n = used.get(base);
    used.set(base, n === undefined ? 0 : n + 1);
    const group = `layers/${n === undefined ? base : `${base}_${n + 1}`}`;
    const specs = layerVariables(layerClass, config, entry, where);
    const dtype = specs.length > 0 ? variableDtype(config, where) : 'float32';
    const layerTrainable = modelTrainable && config.trainable !== false;
    const prefix = className === 'Sequential' ? `${name}/${layerName}` : layerName;
    layers.push({
      className: layerClass,
      name: layerName,
      group,
      variables: specs.map(([vName, shape, trainable]) => ({
        name: vName,
        path: `${prefix}/${vName}`,
        shape,
        dtype,
        trainable: trainable && layerTrainable,
      })),
    });
  }
  // Keras's layer.weights: trainable-at-creation variables first, then the others; here
  // every mapped layer already lists them in that order (BatchNormalization's moving
  // statistics come last), so model.weights is the concatenation.
  return { kind: className, name, layers, variables: layers.flatMap((l) => l.variables) };
}

/** Whether a shape read from the file fits the expected one (null: any size). */
export function shapeFits(actual: readonly number[], expected: readonly (number | null)[]): boolean {
  return actual.length === expected.length && expected.every((d, i) => d === null || d === actual[i]);
}

export function shapeText(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? 'None' : String(d))).join(', ')}${shape.length === 1 ? ',' : ''})`;
}
