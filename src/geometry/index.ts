export type { Tensor } from './tensor.js';
export { Boxes, boxArea, boxCount, clipBoxes, removeSmallBoxes, scaleBoxes, xyxyToXywh, xywhToXyxy } from './boxes.js';
export { boxIou } from './iou.js';
export { nms, batchedNms, argsortDescending } from './nms.js';
export { roiAlign, roisOf, channelsLast, type RoiAlignOptions, type ChannelsLastTensor } from './roi-align.js';
export { decodeBoxes, encodeBoxes, BBOX_XFORM_CLIP, type BoxCoderWeights } from './box-coder.js';
export { generateAnchors, cellAnchors, roundHalfToEven, type AnchorOptions, type Anchors } from './anchors.js';
