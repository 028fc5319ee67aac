// Small tensor operations on the native side, validated here. `matmul` is the smallest real
// forward computation: the smoke test of an installation.
import { call, native } from './native';
import { checkTensor, type Tensor } from './tensor';
import { optionsObject, opt, string } from './validate';

/** a [M,K] · b [K,N] → [M,N] float32. */
export async function matmul(a: Tensor<'float32'>, b: Tensor<'float32'>, options: { device?: string } = {}): Promise<Tensor<'float32'>> {
  const dims = checkTensor('a', a, { dtype: 'float32', shape: ['M', 'K'] });
  checkTensor('b', b, { dtype: 'float32', shape: ['K', 'N'] }, dims);
  const o = optionsObject('options', options);
  const device = opt(o, 'device', 'cpu', string);
  return call(() => native().runtime.matmul(a, b, { device }));
}
