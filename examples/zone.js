// SPDX-License-Identifier: MIT
// A zone rule for plugboxfilter: of the detections on each frame (regions of interest with a
// "detection" parameter structure: label, confidence), keep the confident ones of the wanted
// classes whose centre lies inside a polygon, and post a bus message when an object enters
// the zone. Upstream, a detector attaches the regions; downstream sees only what is kept.
// The zone, the wanted labels and the confidence threshold come from the element's `config`
// property, so that one rule file serves every camera:
//   ... ! plugboxfilter location=examples/zone.js time-limit=5 \
//         config='{"zone": [[100,100],[500,120],[520,400],[80,380]], "labels": ["person"], "threshold": 0.6}' ! ...
// Without a configuration (or without one of its keys) the defaults below hold.
var CONFIG = typeof config === 'object' && config !== null ? config : {};
var ZONE = CONFIG.zone || [[100, 100], [500, 120], [520, 400], [80, 380]]; // pixels, clockwise
var LABELS = CONFIG.labels || ['person', 'car'];                             // wanted classes
var THRESHOLD = typeof CONFIG.threshold === 'number' ? CONFIG.threshold : 0.5; // least confidence
var inside = {};                                                             // ids inside on the last frame

function contains(polygon, x, y) {
  var hit = false;
  for (var i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    var xi = polygon[i][0], yi = polygon[i][1], xj = polygon[j][0], yj = polygon[j][1];
    if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function process(frame) {
  var kept = [], now = {}, entered = [];
  frame.rois.forEach(function (roi) {
    var detection = roi.params.detection || {};
    var label = detection.label || roi.type;
    if (LABELS.indexOf(label) < 0 || !(detection.confidence >= THRESHOLD)) return;
    if (!contains(ZONE, roi.x + roi.w / 2, roi.y + roi.h / 2)) return;
    kept.push(roi);
    now[roi.id] = true;
    if (!inside[roi.id]) entered.push({ id: roi.id, label: label, confidence: detection.confidence });
  });
  inside = now;
  var result = { rois: kept };
  if (entered.length) result.message = { event: 'entered', pts: frame.pts, objects: entered };
  return result;
}
