/**
 * Semantic segmentation on CamVid (issue #12): data loading and colours, the two segmenters
 * (`φ` U-Net, `φ'` dilated FCN), their loss, augmentation, training with exact resume,
 * saving/loading and evaluation.
 * @example
 * import { loadCamVid, loadSegmenter, evaluateSegmenter } from 'lgd-workspace';
 * const r = evaluateSegmenter(await loadSegmenter('results/models/seg_phi'), await loadCamVid('test'));
 */
export * from './camvid';
export * from './networks';
export * from './loss';
export * from './augment';
export * from './config';
export * from './io';
export * from './evaluate';
export * from './train';
