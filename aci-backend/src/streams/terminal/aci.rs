//! Terminals of one ACI container: the ARM exec / attach call, then its websocket.

use super::{OpenError, TermSize, Terminal, TerminalOpener, WsConnector};
use crate::arm::ArmClient;

/// Opens terminals in `container` of the container group `group`.
#[derive(Debug, Clone)]
pub struct AciTerminals {
    arm: ArmClient,
    connector: WsConnector,
    group: String,
    container: String,
}

impl AciTerminals {
    /// Terminals in `group` / `container` through `arm`, websockets through `connector`.
    pub fn new(arm: ArmClient, connector: WsConnector, group: &str, container: &str) -> Self {
        AciTerminals { arm, connector, group: group.to_owned(), container: container.to_owned() }
    }
}

#[async_trait::async_trait]
impl TerminalOpener for AciTerminals {
    async fn exec(&self, command: &str, size: TermSize) -> Result<Terminal, OpenError> {
        let session = self.arm.exec(&self.group, &self.container, command, size.rows, size.cols).await?;
        Ok(self.connector.connect(&session).await?)
    }

    async fn attach(&self) -> Result<Terminal, OpenError> {
        let session = self.arm.attach(&self.group, &self.container).await?;
        Ok(self.connector.connect(&session).await?)
    }
}
