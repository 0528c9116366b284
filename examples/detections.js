// SPDX-License-Identifier: MIT
// A stand-in for an object detector, to try examples/zone.js in a pipeline without one: on
// every frame it attaches regions of interest the way a detector element does (type, box,
// and a "detection" parameter structure with label and confidence), for three objects that
// move across a 640x480 picture.
//   GST_PLUGIN_PATH=build gst-launch-1.0 -m videotestsrc num-buffers=60 ! \
//     video/x-raw,width=640,height=480 ! plugboxfilter location=examples/detections.js ! \
//     plugboxfilter location=examples/zone.js ! fakesink
// Each object enters the zone at most once; the zone rule posts a bus message when one does.
var OBJECTS = [
  { id: 1, label: 'person', confidence: 0.9, x0: 0, y: 220, speed: 10 },   // walks into the zone
  { id: 2, label: 'car', confidence: 0.4, x0: 600, y: 240, speed: -8 },    // too unsure to count
  { id: 3, label: 'dog', confidence: 0.95, x0: 300, y: 200, speed: 0 },    // not a wanted class
];
var frame = 0;

function process(buffer) {
  var n = buffer.offset !== null ? buffer.offset : frame;
  frame++;
  return {
    rois: OBJECTS.map(function (o) {
      return {
        id: o.id, type: o.label, x: Math.max(0, o.x0 + o.speed * n), y: o.y, w: 40, h: 80,
        params: { detection: { label: o.label, confidence: o.confidence } },
      };
    }),
  };
}
