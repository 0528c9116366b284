// SPDX-License-Identifier: MIT
// The size sweep's script (make bench): the sum of one coordinate over a GeoJSON
// FeatureCollection of any size. Its work per feature is small, so the call's cost is mostly
// what every call pays per byte of input: the JSON decoded, the objects built and freed.
function sumLongitudes(collection) {
  var features = collection.features, sum = 0;
  for (var i = 0; i < features.length; i++)
    sum += features[i].geometry.coordinates[0];
  return sum;
}

sumLongitudes(data);
