/**
 * Image variants on file URLs (`?w=&h=&fit=&fmt=&q=` and slave names such as `<name>_200x200.jpg`),
 * rendered with sharp and stored as FastDFS slave files of their master. cli hands `imageVariants`
 * to the gateway as its variant plugin.
 */
import type { VariantPlugin } from '../gateway/index.js';
import { ImageVariants } from './variants.js';

export const imageVariants: VariantPlugin = ({ ctx, files }) => new ImageVariants(ctx, files);
export {
  canonicalQuery,
  type Fit,
  type Format,
  outputFormat,
  parseVariantName,
  parseVariantQuery,
  prefixOf,
  type VariantSpec,
} from './spec.js';
export { ImageVariants } from './variants.js';
