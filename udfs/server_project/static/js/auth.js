// The token the add-in signs in with, for every request its buttons and cell functions make
// (xlwings' client sends it as the Authorization header). leadbook serve's own sign-in reads
// the token pasted into Sign in on the task pane; Entra ID, when the server is set up for it,
// asks Office for the signed-in user's token. This file replaces xlwings Server's auth.js.
globalThis.getAuth = async function () {
  const providers = globalThis.config?.authProviders ?? [];
  if (providers.includes("leadbook")) {
    return { token: localStorage.getItem("leadbook.token") ?? "", provider: "leadbook" };
  }
  if (providers.includes("entraid")) {
    return { token: await globalThis.xlwings.getAccessToken(), provider: "entraid" };
  }
  return { token: "", provider: "" };
};
