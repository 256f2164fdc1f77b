/** Every command the extension contributes (package.json `contributes.commands`), by name. */
export const enum CommandId {
  InspectDataset = 'promptOrFinetune.inspectDataset',
  EstimateShots = 'promptOrFinetune.estimateShots',
  PreviewPrompt = 'promptOrFinetune.previewPrompt',
  RunComparison = 'promptOrFinetune.runComparison',
  CancelRun = 'promptOrFinetune.cancelRun',
  OpenReport = 'promptOrFinetune.openReport',
  SelectModel = 'promptOrFinetune.selectModel',
  ExportReport = 'promptOrFinetune.exportReport',
  RefreshDatasets = 'promptOrFinetune.refreshDatasets',
  ShowDataset = 'promptOrFinetune.showDataset',
  ShowWalkthrough = 'promptOrFinetune.showWalkthrough',
  SetApiKey = 'promptOrFinetune.setApiKey',
}

export const REPORT_VIEW_TYPE = 'promptOrFinetune.report';
export const DATASET_VIEW_TYPE = 'promptOrFinetune.dataset';
export const DATASETS_VIEW_ID = 'promptOrFinetune.datasets';
export const RUNNING_CONTEXT_KEY = 'promptOrFinetune.running';
