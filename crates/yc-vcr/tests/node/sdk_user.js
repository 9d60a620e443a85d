// A test as a user of the official Yandex Cloud Node.js SDK writes it: a Session with an IAM token and the yc-vcr
// CA, clients for the replay address, and the SDK's operation waiter.
//
// Usage: node sdk_user.js HOST:PORT CA_PEM IAM_TOKEN
// Prints one JSON object per call, so that runs can be compared line by line.

const fs = require('fs');
const { Session, waitForOperation } = require('@yandex-cloud/nodejs-sdk');
const { image, imageService } = require('@yandex-cloud/nodejs-sdk/compute-v1');
const registry = require('@yandex-cloud/nodejs-sdk/containerregistry-v1');

async function show(name, call, type) {
  let out;
  try {
    out = { call: name, ok: type.toJSON(await call()) };
  } catch (error) {
    out = { call: name, code: error.code, message: String(error.details).split('\n')[0] };
  }
  console.log(JSON.stringify(out));
}

async function main() {
  const [endpoint, ca, iamToken] = process.argv.slice(2);
  const session = new Session({ iamToken, ssl: { rootCerts: fs.readFileSync(ca) }, pollInterval: 50 });

  const images = session.client(imageService.ImageServiceClient, endpoint);
  await show('compute Get', () => images.get(imageService.GetImageRequest.fromPartial({ imageId: 'fd8j4ab7nq2vd1sg3k9p' })), image.Image);
  await show('compute Get missing', () => images.get(imageService.GetImageRequest.fromPartial({ imageId: 'fd8zq4x6c8v0b2n4m6k8' })), image.Image);

  const registryImages = session.client(registry.imageService.ImageServiceClient, endpoint);
  await show('registry Get', () => registryImages.get(registry.imageService.GetImageRequest.fromPartial({ imageId: 'crp3a5b7c9d1e3f5g7h9' })), registry.image.Image);

  const operation = await images.create(imageService.CreateImageRequest.fromPartial({
    folderId: 'b1g8a1e2k4m6n8p0q2r4',
    name: 'app-image-v42',
    description: 'Application image, build 42',
    labels: { env: 'ci' },
    family: 'app-image',
    minDiskSize: 10737418240,
    diskId: 'fhm1o2p3q4r5s6t7u8v9',
    os: { type: image.Os_Type.LINUX },
  }));
  const done = await waitForOperation(operation, session, 60000, endpoint);
  await show('compute Create, waited', async () => image.Image.decode(done.response.value), image.Image);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
